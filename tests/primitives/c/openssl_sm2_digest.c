/*
 * SM2 sign/verify of a raw digest of ANY length through libcrypto, following
 * OpenSSL's own code path line for line: crypto/sm2/sm2_sign.c
 * (ossl_sm2_internal_sign / ossl_sm2_internal_verify -> sm2_sig_gen /
 * sm2_sig_verify): e = BN_bin2bn(dgst, dgstlen) over the whole digest, then
 * r = (e + x1) mod n with BN_mod_add. OpenSSL 3.0's SM2 signature provider
 * refuses a digest that is not 32 bytes before it reaches that code
 * (sm2sig_sign: tbslen != mdsize), and the ossl_sm2_* functions are not
 * exported, so this helper calls the same public BN/EC primitives.
 * tests/primitives/test_sm2_digest_length.py checks it against the openssl
 * CLI on 32-byte digests first, then uses it for a SHA-512 digest.
 *
 *   openssl_sm2_digest sign   KEY.pem DIGEST_FILE            > sig.der
 *   openssl_sm2_digest verify PUB.pem DIGEST_FILE SIG_FILE   (exit 0 = valid)
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned char *slurp(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(*len + 1);
    if (fread(buf, 1, *len, f) != (size_t)*len) { fclose(f); return NULL; }
    fclose(f);
    return buf;
}

/* sm2_sig_gen: A3-A7 of GB/T 32918.2 with e taken as given. */
static ECDSA_SIG *sig_gen(const EC_KEY *key, const BIGNUM *e) {
    const BIGNUM *dA = EC_KEY_get0_private_key(key);
    const EC_GROUP *group = EC_KEY_get0_group(key);
    const BIGNUM *order = EC_GROUP_get0_order(group);
    BN_CTX *ctx = BN_CTX_new();
    EC_POINT *kG = EC_POINT_new(group);
    BIGNUM *k = BN_new(), *rk = BN_new(), *x1 = BN_new(), *tmp = BN_new();
    BIGNUM *r = BN_new(), *s = BN_new();
    for (;;) {
        if (!BN_priv_rand_range(k, order) || !EC_POINT_mul(group, kG, k, NULL, NULL, ctx)
            || !EC_POINT_get_affine_coordinates(group, kG, x1, NULL, ctx)
            || !BN_mod_add(r, e, x1, order, ctx))
            return NULL;
        if (BN_is_zero(r)) continue;
        if (!BN_add(rk, r, k)) return NULL;
        if (BN_cmp(rk, order) == 0) continue;
        if (!BN_add(s, dA, BN_value_one()) || !BN_mod_inverse(s, s, order, ctx)
            || !BN_mod_mul(tmp, dA, r, order, ctx) || !BN_sub(tmp, k, tmp)
            || !BN_mod_mul(s, s, tmp, order, ctx))
            return NULL;
        if (BN_is_zero(s)) continue;
        break;
    }
    ECDSA_SIG *sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, r, s);
    return sig;
}

/* sm2_sig_verify: B1-B7. */
static int sig_verify(const EC_KEY *key, const ECDSA_SIG *sig, const BIGNUM *e) {
    const EC_GROUP *group = EC_KEY_get0_group(key);
    const BIGNUM *order = EC_GROUP_get0_order(group);
    BN_CTX *ctx = BN_CTX_new();
    EC_POINT *pt = EC_POINT_new(group);
    BIGNUM *t = BN_new(), *x1 = BN_new();
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(sig, &r, &s);
    if (BN_cmp(r, BN_value_one()) < 0 || BN_cmp(s, BN_value_one()) < 0
        || BN_cmp(order, r) <= 0 || BN_cmp(order, s) <= 0)
        return 0;
    if (!BN_mod_add(t, r, s, order, ctx) || BN_is_zero(t)) return 0;
    if (!EC_POINT_mul(group, pt, s, EC_KEY_get0_public_key(key), t, ctx)
        || !EC_POINT_get_affine_coordinates(group, pt, x1, NULL, ctx))
        return 0;
    if (!BN_mod_add(t, e, x1, order, ctx)) return 0;
    return BN_cmp(r, t) == 0;
}

/* An EC_KEY on the SM2 curve from a provider key: the scalar (if private)
 * and the encoded public point, read through the OSSL_PARAM interface. */
static EC_KEY *sm2_ec_key(EVP_PKEY *pkey, int private) {
    EC_KEY *key = EC_KEY_new_by_curve_name(NID_sm2);
    unsigned char pub[133];
    size_t publen = 0;
    if (!key || !EVP_PKEY_get_octet_string_param(pkey, "pub", pub, sizeof(pub), &publen)
        || !EC_KEY_oct2key(key, pub, publen, NULL))
        return NULL;
    if (private) {
        BIGNUM *d = NULL;
        if (!EVP_PKEY_get_bn_param(pkey, "priv", &d) || !EC_KEY_set_private_key(key, d))
            return NULL;
    }
    return key;
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    long dlen, klen;
    unsigned char *dgst = slurp(argv[3], &dlen);
    unsigned char *pem = slurp(argv[2], &klen);
    if (!dgst || !pem) return 2;
    BIO *bio = BIO_new_mem_buf(pem, (int)klen);
    BIGNUM *e = BN_bin2bn(dgst, (int)dlen, NULL); /* as ossl_sm2_internal_*: the whole digest */
    if (argv[1][0] == 's') {
        EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        if (!pkey) return 2;
        ECDSA_SIG *sig = sig_gen(sm2_ec_key(pkey, 1), e);
        unsigned char *der = NULL;
        int n = sig ? i2d_ECDSA_SIG(sig, &der) : -1;
        if (n <= 0) return 2;
        fwrite(der, 1, n, stdout);
        return 0;
    }
    if (argc < 5) return 2;
    EVP_PKEY *pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    long slen;
    unsigned char *sigbytes = slurp(argv[4], &slen);
    const unsigned char *p = sigbytes;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, slen);
    if (!pkey || !sig) return 2;
    return sig_verify(sm2_ec_key(pkey, 0), sig, e) ? 0 : 1;
}
