//! Unit tests of the SM2 internals: the three scalar multiplications agree
//! with a plain double-and-add reference, including the edge scalars where
//! incomplete addition formulas would fail.
#![forbid(unsafe_code)]

use super::field::{limbs_from_be, Limbs};
use super::point::{
    mul_base, mul_double_vartime, mul_double_vartime_comb, mul_var, mul_var_impl, Affine, Jacobian,
    G,
};
use super::scalar::{Scalar, N, N_MINUS_1};

fn reference(k: &Limbs, p: &Affine) -> Jacobian {
    let mut acc = Jacobian::IDENTITY;
    let pj = Jacobian::from_affine(p);
    for i in (0..256).rev() {
        acc = acc.double();
        if (k[i / 64] >> (i % 64)) & 1 == 1 {
            acc = acc.add_vartime(&pj);
        }
    }
    acc
}

fn same(a: &Jacobian, b: &Jacobian) -> bool {
    let (aa, ai) = a.to_affine();
    let (ba, bi) = b.to_affine();
    if bool::from(ai) || bool::from(bi) {
        return bool::from(ai) == bool::from(bi);
    }
    aa.x.to_bytes() == ba.x.to_bytes() && aa.y.to_bytes() == ba.y.to_bytes()
}

fn sub_small(a: &Limbs, s: u64) -> Limbs {
    Scalar::from_canonical(a)
        .sub(&Scalar::from_canonical(&[s, 0, 0, 0]))
        .to_canonical()
}

fn edge_scalars() -> Vec<Limbs> {
    let mut v: Vec<Limbs> = vec![
        [1, 0, 0, 0],
        [2, 0, 0, 0],
        [3, 0, 0, 0],
        [31, 0, 0, 0],
        [32, 0, 0, 0],
        [33, 0, 0, 0],
        [0, 0, 0, 1 << 61],
        [0, 0, 0, 1 << 62],
        [0, 0, 0, 0x8000_0000_0000_0000],
        [u64::MAX, u64::MAX, u64::MAX, 0x7fff_ffff_ffff_ffff],
        N_MINUS_1,
    ];
    for s in 2..40u64 {
        v.push(sub_small(&N, s));
    }
    // Pseudo-random scalars (xorshift) below n.
    let mut x = 0x1234_5678_9abc_def1u64;
    for _ in 0..40 {
        let mut l = [0u64; 4];
        for limb in l.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *limb = x;
        }
        l[3] &= 0x7fff_ffff_ffff_ffff;
        v.push(l);
    }
    v
}

#[test]
fn comb_and_window_match_reference() {
    let p = {
        let (a, _) = reference(&[12345, 678, 9, 10], &G).to_affine();
        a
    };
    let comb = super::table::PointComb::new(&p);
    for k in edge_scalars() {
        let want_g = reference(&k, &G);
        assert!(same(&mul_base(&k), &want_g), "comb {k:x?}");
        let want_p = reference(&k, &p);
        assert!(same(&mul_var(&k, &p), &want_p), "window {k:x?}");
        assert!(same(&mul_var(&k, &G), &want_g), "window on G {k:x?}");
        // The portable build of the window code (mul_var dispatches to a
        // BMI2/ADX build on CPUs that have them).
        assert!(
            same(&mul_var_impl(&k, &p), &want_p),
            "portable window {k:x?}"
        );
        let both = want_g.add_vartime(&want_p);
        assert!(
            same(&mul_double_vartime(&k, &k, &p), &both),
            "double {k:x?}"
        );
        assert!(same(&comb.mul(&k), &want_p), "point comb {k:x?}");
        assert!(same(&comb.mul_vartime(&k), &want_p), "point comb vt {k:x?}");
        assert!(
            same(&mul_double_vartime_comb(&k, &k, &comb), &both),
            "double comb {k:x?}"
        );
    }
    assert!(bool::from(mul_base(&[0; 4]).is_identity()));
    assert!(bool::from(mul_var(&[0; 4], &p).is_identity()));
    assert!(bool::from(
        mul_base(&N_MINUS_1)
            .add_vartime(&Jacobian::from_affine(&G))
            .is_identity()
    ));
}

#[test]
fn public_key_of_standard_example() {
    let d: [u8; 32] =
        hex::decode("3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8")
            .unwrap()
            .try_into()
            .unwrap();
    let (pk, _) = mul_base(&limbs_from_be(&d)).to_affine();
    assert_eq!(
        hex::encode(pk.to_uncompressed()),
        "0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13"
    );
    assert!(bool::from(G.is_on_curve()));
    let c = pk.to_compressed();
    let back = Affine::from_sec1(&c).unwrap();
    assert_eq!(back.to_uncompressed(), pk.to_uncompressed());
}

/// Rough cost of the building blocks (run with --ignored --nocapture).
#[test]
#[ignore]
fn timing_building_blocks() {
    let (p, _) = reference(&[12345, 678, 9, 10], &G).to_affine();
    let mut x = p.x;
    // Best of 25 short wall-clock repetitions: on a shared machine the
    // minimum is the least disturbed figure (schedstat CPU time only
    // advances at scheduler ticks, too coarse for short runs).
    let time = |name: &str, n: usize, f: &mut dyn FnMut()| {
        let mut best = f64::MAX;
        for _ in 0..25 {
            let t = std::time::Instant::now();
            for _ in 0..n {
                f();
            }
            best = best.min(t.elapsed().as_nanos() as f64 / n as f64);
        }
        println!("{name}: {best:.1} ns");
    };
    time("fe mul", 100_000, &mut || x = x.mul(&p.y));
    time("fe sqr", 100_000, &mut || x = x.square());
    let mut j = Jacobian::from_affine(&p);
    time("dbl", 10_000, &mut || j = j.double());
    let q = Jacobian::from_affine(&G);
    time("add", 10_000, &mut || j = j.add_distinct(&q));
    let k = [
        0x1234_5678_9abc_def0,
        0x0fed_cba9_8765_4321,
        0x1111_2222_3333_4444,
        0x5555_6666_7777_8888,
    ];
    time("mul_var", 50, &mut || j = mul_var(&k, &p));
    time("mul_base", 50, &mut || j = mul_base(&k));
    time("mul_double", 50, &mut || j = mul_double_vartime(&k, &k, &p));
    let comb = super::table::PointComb::new(&p);
    time("comb build", 10, &mut || {
        let _ = super::table::PointComb::new(&p);
    });
    time("comb mul", 50, &mut || j = comb.mul(&k));
    time("comb double vartime", 50, &mut || {
        j = mul_double_vartime_comb(&k, &k, &comb)
    });
    time("invert", 50, &mut || x = x.invert());
    println!("{}", (j.z.0[0] ^ x.0[0]) & 1);
}
