//! One-pass encryption of CSV blocks: the fast path of `guomi.bulk`'s CSV
//! encrypt job (memory in, memory out; the caller reads and writes files).
//!
//! A block is a run of whole CSV records (the job cuts the file at record
//! boundaries). [`CsvBlock::scan`] accepts only the simple, common shape: no
//! quote character, line ends LF or CRLF (no lone CR), valid UTF-8, every
//! non-empty line with exactly `ncols` comma-separated fields. For such a block the general
//! path (pyarrow's parser with every column as a string, the field kernel,
//! pyarrow's writer without quoting) outputs every record with its values
//! unchanged except the encrypted ones, each record ending in `\n`, empty
//! lines dropped; [`CsvBlock::encrypt`] writes exactly those bytes without
//! building any Arrow array. Anything else (a quoted value, a lone CR, a
//! malformed row, invalid UTF-8) makes `scan` return `None` and the caller
//! runs the general path, which also produces the precise error for bad
//! input.
//!
//! Values that already are field values (text starting with `gm1.`) are
//! kept as they are and counted, as the general path does. Only public
//! structure (commas, newlines, lengths) is branched on here; the values
//! themselves go to [`FieldCipher::encrypt_many`].

use super::{armour, FieldCipher, NONCE_SIZE};
use crate::error::{Error, Result};

/// What happened to one encrypted column of a block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ColumnCounts {
    /// Values encrypted.
    pub processed: usize,
    /// Values kept because they already were field values.
    pub skipped: usize,
}

/// A scanned block: where its records and its target fields are.
#[derive(Debug)]
pub struct CsvBlock<'a> {
    block: &'a [u8],
    targets: usize,
    /// `(start, end)` of each non-empty line, newline excluded.
    lines: Vec<(usize, usize)>,
    /// Per line, per target column (ascending): `(start, end)` of the field.
    fields: Vec<(usize, usize)>,
    /// Values to encrypt (fields that are not field values yet).
    pending: usize,
    /// Length of the encrypted block.
    out_len: usize,
}

fn is_token(value: &[u8]) -> bool {
    value.starts_with(armour::PREFIX)
}

impl<'a> CsvBlock<'a> {
    /// Scans `block` for `ncols` columns, remembering the fields of the
    /// columns in `targets` (strictly ascending indexes below `ncols`).
    /// `Ok(None)`: the block is not of the simple shape (see the module
    /// documentation); the caller must take the general path.
    pub fn scan(block: &'a [u8], ncols: usize, targets: &[usize]) -> Result<Option<Self>> {
        if ncols == 0
            || targets.windows(2).any(|w| w[0] >= w[1])
            || targets.iter().any(|&t| t >= ncols)
        {
            return Err(Error::invalid_argument(
                "CSV targets must be distinct ascending column indexes below the column count",
            ));
        }
        if std::str::from_utf8(block).is_err() {
            return Ok(None);
        }
        let mut lines = Vec::with_capacity(block.len() / 64 + 1);
        let mut fields = Vec::with_capacity((block.len() / 64 + 1) * targets.len());
        let mut line_start = 0;
        let mut field_start = 0;
        let mut col = 0;
        let mut next = 0; // index into targets of the next target column
        for (i, &b) in block.iter().enumerate() {
            match b {
                b',' => {
                    if next < targets.len() && targets[next] == col {
                        fields.push((field_start, i));
                        next += 1;
                    }
                    col += 1;
                    field_start = i + 1;
                }
                b'\n' => {
                    // CRLF ends a record as LF does (the '\r' belongs to no field).
                    let end = if i > line_start && block[i - 1] == b'\r' {
                        i - 1
                    } else {
                        i
                    };
                    if end > line_start {
                        if col + 1 != ncols {
                            return Ok(None);
                        }
                        if next < targets.len() {
                            fields.push((field_start, end));
                        }
                        lines.push((line_start, end));
                    }
                    line_start = i + 1;
                    field_start = i + 1;
                    col = 0;
                    next = 0;
                }
                // A lone CR is a line break for the general parser: not handled here.
                b'\r' if block.get(i + 1) != Some(&b'\n') => return Ok(None),
                b'"' => return Ok(None),
                _ => {}
            }
        }
        if block.len() > line_start {
            if col + 1 != ncols {
                return Ok(None);
            }
            if next < targets.len() {
                fields.push((field_start, block.len()));
            }
            lines.push((line_start, block.len()));
        }
        debug_assert_eq!(fields.len(), lines.len() * targets.len());
        let mut pending = 0;
        let mut out_len: usize = lines.iter().map(|(s, e)| e - s + 1).sum();
        for &(s, e) in &fields {
            if !is_token(&block[s..e]) {
                pending += 1;
                out_len += FieldCipher::output_len(e - s, true) - (e - s);
            }
        }
        Ok(Some(CsvBlock {
            block,
            targets: targets.len(),
            lines,
            fields,
            pending,
            out_len,
        }))
    }

    /// Records in the block (empty lines are not records).
    pub fn rows(&self) -> usize {
        self.lines.len()
    }

    /// Values to encrypt (all target columns): one nonce each.
    pub fn values_to_encrypt(&self) -> usize {
        self.pending
    }

    /// Length of the encrypted block.
    pub fn output_len(&self) -> usize {
        self.out_len
    }

    /// Writes the block with the target columns encrypted (`ciphers[t]`
    /// for the `t`-th target, `gm1.` text of type tag `type_tag`) into `out`
    /// ([`CsvBlock::output_len`] bytes). `nonces`: 12 random bytes per value
    /// ([`CsvBlock::values_to_encrypt`]), column by column.
    pub fn encrypt(
        &self,
        ciphers: &[&FieldCipher],
        type_tag: u8,
        nonces: &[u8],
        out: &mut [u8],
    ) -> Result<Vec<ColumnCounts>> {
        if ciphers.len() != self.targets {
            return Err(Error::invalid_argument("one cipher per target column"));
        }
        if nonces.len() != self.pending * NONCE_SIZE || out.len() != self.out_len {
            return Err(Error::invalid_argument(
                "nonce or output buffer has the wrong length",
            ));
        }
        // First the records with holes where the new values go, then each
        // column's values encrypted straight into their holes.
        let rows = self.lines.len();
        let mut items: Vec<Vec<(u8, &[u8])>> = vec![Vec::with_capacity(rows); self.targets];
        let mut starts: Vec<Vec<usize>> = vec![Vec::with_capacity(rows); self.targets];
        let mut pos = 0;
        let put = |out: &mut [u8], pos: &mut usize, bytes: &[u8]| {
            out[*pos..*pos + bytes.len()].copy_from_slice(bytes);
            *pos += bytes.len();
        };
        for (li, &(start, end)) in self.lines.iter().enumerate() {
            let mut cur = start;
            for t in 0..self.targets {
                let (fs, fe) = self.fields[li * self.targets + t];
                put(out, &mut pos, &self.block[cur..fs]);
                let value = &self.block[fs..fe];
                if is_token(value) {
                    put(out, &mut pos, value);
                } else {
                    items[t].push((type_tag, value));
                    starts[t].push(pos);
                    pos += FieldCipher::output_len(value.len(), true);
                }
                cur = fe;
            }
            put(out, &mut pos, &self.block[cur..end]);
            put(out, &mut pos, b"\n");
        }
        debug_assert_eq!(pos, out.len());
        let mut counts = Vec::with_capacity(self.targets);
        let mut used = 0;
        for (t, cipher) in ciphers.iter().enumerate() {
            let n = items[t].len() * NONCE_SIZE;
            cipher.encrypt_many_at(&items[t], &nonces[used..used + n], true, out, &starts[t])?;
            used += n;
            counts.push(ColumnCounts {
                processed: items[t].len(),
                skipped: rows - items[t].len(),
            });
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::SUITE_SM4_GCM;

    fn cipher() -> FieldCipher {
        FieldCipher::new(
            b"dataset",
            b"c",
            SUITE_SM4_GCM,
            &[(7, &[1u8; 16], &[2u8; 32])],
            7,
        )
        .unwrap()
    }

    fn run(block: &[u8], ncols: usize, targets: &[usize]) -> Option<(Vec<u8>, Vec<ColumnCounts>)> {
        let c = cipher();
        let scan = CsvBlock::scan(block, ncols, targets).unwrap()?;
        let nonces = vec![3u8; scan.values_to_encrypt() * 12];
        let mut out = vec![0u8; scan.output_len()];
        let ciphers: Vec<&FieldCipher> = targets.iter().map(|_| &c).collect();
        let counts = scan.encrypt(&ciphers, 1, &nonces, &mut out).unwrap();
        Some((out, counts))
    }

    fn token(c: &FieldCipher, v: &[u8]) -> Vec<u8> {
        let mut bin = vec![0u8; FieldCipher::sealed_len(v.len())];
        c.encrypt_into(1, v, None, &[3u8; 12], &mut bin).unwrap();
        let mut t = vec![0u8; armour::armoured_len(bin.len())];
        armour::encode_into(&bin, &mut t);
        t
    }

    #[test]
    fn encrypts_the_target_fields_only() {
        let c = cipher();
        let (out, counts) = run(b"a,b,c\n\nd,,f\ng,gm1.x,i", 3, &[1]).unwrap();
        let mut want = b"a,".to_vec();
        want.extend(token(&c, b"b"));
        want.extend(b",c\nd,");
        want.extend(token(&c, b""));
        want.extend(b",f\ng,gm1.x,i\n");
        assert_eq!(out, want);
        assert_eq!(
            counts,
            vec![ColumnCounts {
                processed: 2,
                skipped: 1
            }]
        );
        let (out, _) = run("x,y\n客户,z\n".as_bytes(), 2, &[0, 1]).unwrap();
        let mut want = token(&c, b"x");
        want.push(b',');
        want.extend(token(&c, b"y"));
        want.push(b'\n');
        want.extend(token(&c, "客户".as_bytes()));
        want.push(b',');
        want.extend(token(&c, b"z"));
        want.push(b'\n');
        assert_eq!(out, want);
    }

    #[test]
    fn other_shapes_take_the_general_path() {
        for block in [
            &b"a,\"b\",c\n"[..],
            b"a,b,c\rd,e,f\n",
            b"a,b,c\r",
            b"a,b\n",
            b"a,b,c,d\n",
            b"a,\xff,c\n",
        ] {
            assert!(run(block, 3, &[1]).is_none());
        }
        assert!(CsvBlock::scan(b"a\n", 1, &[1]).is_err());
        assert!(CsvBlock::scan(b"a,b\n", 2, &[1, 0]).is_err());
        assert_eq!(run(b"", 2, &[0]).unwrap().0, b"");
        // CRLF (and empty CRLF lines) as the general path reads them: LF out.
        let c = cipher();
        let (out, _) = run(b"a,b\r\n\r\nc,d\r\n", 2, &[0]).unwrap();
        let mut want = token(&c, b"a");
        want.extend(b",b\n");
        want.extend(token(&c, b"c"));
        want.extend(b",d\n");
        assert_eq!(out, want);
    }
}
