/*
 * SM2 through OpenSSL's EVP API: the anchor of bench/bench_sm2.py.
 *
 * usage: openssl_sm2_bench OP ITERATIONS    (OP: sign verify encrypt decrypt keygen)
 * prints: "<op> <ops per CPU-second> <ops per wall-second>" measured over the
 * loop only (key setup, the signature to verify and the ciphertext to decrypt
 * are made first). CPU time is what bench_sm2.py compares by default: this
 * machine is shared and wall time swings with other people's builds.
 *
 * Sign/verify do what an application does per message with EVP: a fresh
 * EVP_MD_CTX, EVP_DigestSign/VerifyInit with SM3, the GM/T 0009 default ID
 * via EVP_PKEY_CTX_set1_id, one 32-byte message. Encrypt/decrypt reuse one
 * initialised EVP_PKEY_CTX (the cheapest way to call them).
 */
#include <openssl/evp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const unsigned char ID[] = "1234567812345678";
static unsigned char MSG[32];

static double clock_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what) {
    fprintf(stderr, "openssl_sm2_bench: %s failed\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

static size_t sign_once(EVP_PKEY *key, unsigned char *sig, size_t cap) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(key, NULL);
    if (!md || !pctx) die("ctx");
    if (EVP_PKEY_CTX_set1_id(pctx, ID, 16) <= 0) die("set1_id");
    EVP_MD_CTX_set_pkey_ctx(md, pctx);
    if (EVP_DigestSignInit(md, NULL, EVP_sm3(), NULL, key) <= 0) die("DigestSignInit");
    size_t len = cap;
    if (EVP_DigestSign(md, sig, &len, MSG, sizeof MSG) <= 0) die("DigestSign");
    EVP_MD_CTX_free(md);
    EVP_PKEY_CTX_free(pctx);
    return len;
}

static int verify_once(EVP_PKEY *key, const unsigned char *sig, size_t len) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(key, NULL);
    if (!md || !pctx) die("ctx");
    if (EVP_PKEY_CTX_set1_id(pctx, ID, 16) <= 0) die("set1_id");
    EVP_MD_CTX_set_pkey_ctx(md, pctx);
    if (EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, key) <= 0) die("DigestVerifyInit");
    int ok = EVP_DigestVerify(md, sig, len, MSG, sizeof MSG);
    EVP_MD_CTX_free(md);
    EVP_PKEY_CTX_free(pctx);
    return ok;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s sign|verify|encrypt|decrypt|keygen ITERATIONS\n", argv[0]);
        return 2;
    }
    const char *op = argv[1];
    long n = atol(argv[2]);
    memset(MSG, 0x61, sizeof MSG);
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
    if (!key) die("keygen");
    unsigned char sig[128];
    unsigned char ct[256], pt[64];
    size_t siglen = sign_once(key, sig, sizeof sig);
    EVP_PKEY_CTX *enc = EVP_PKEY_CTX_new(key, NULL);
    EVP_PKEY_CTX *dec = EVP_PKEY_CTX_new(key, NULL);
    if (!enc || !dec || EVP_PKEY_encrypt_init(enc) <= 0 || EVP_PKEY_decrypt_init(dec) <= 0)
        die("encrypt/decrypt init");
    size_t ctlen = sizeof ct;
    if (EVP_PKEY_encrypt(enc, ct, &ctlen, MSG, sizeof MSG) <= 0) die("encrypt");

    double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
    for (long i = 0; i < n; i++) {
        if (!strcmp(op, "sign")) {
            sign_once(key, sig, sizeof sig);
        } else if (!strcmp(op, "verify")) {
            if (verify_once(key, sig, siglen) != 1) die("verify");
        } else if (!strcmp(op, "encrypt")) {
            size_t l = sizeof ct;
            if (EVP_PKEY_encrypt(enc, ct, &l, MSG, sizeof MSG) <= 0) die("encrypt");
        } else if (!strcmp(op, "decrypt")) {
            size_t l = sizeof pt;
            if (EVP_PKEY_decrypt(dec, pt, &l, ct, ctlen) <= 0 || l != sizeof MSG) die("decrypt");
        } else if (!strcmp(op, "keygen")) {
            EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
            if (!k) die("keygen");
            EVP_PKEY_free(k);
        } else {
            fprintf(stderr, "unknown op %s\n", op);
            return 2;
        }
    }
    double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0, wall = clock_s(CLOCK_MONOTONIC) - w0;
    printf("%s %.1f %.1f\n", op, n / cpu, n / wall);
    EVP_PKEY_CTX_free(enc);
    EVP_PKEY_CTX_free(dec);
    EVP_PKEY_free(key);
    return 0;
}
