//! Blind-index transforms (spec §6.2), applied to UTF-8 string values.
//!
//! `casefold` is Python's `str.casefold` (full Unicode case folding); this
//! kernel folds ASCII-only values itself and reports any other value back to
//! the caller, which folds it in Python, so both paths give the same bytes.

use crate::error::{Error, Result};

/// Type tag of a string value (spec §7).
pub const TYPE_STR: u8 = 0x01;

/// A named transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transform {
    /// The value as it is.
    Identity,
    /// Unicode case folding (ASCII here; see the module docs).
    Casefold,
    /// Only the ASCII digits `0`-`9`, in order.
    Digits,
    /// The last `n` code points.
    Last(u32),
    /// The first `n` code points.
    Prefix(u32),
}

impl Transform {
    /// Decodes the (code, parameter) pair the Python layer passes:
    /// 0 identity, 1 casefold, 2 digits, 3 last:n, 4 prefix:n.
    pub fn from_code(code: u32, n: u32) -> Result<Self> {
        Ok(match code {
            0 => Transform::Identity,
            1 => Transform::Casefold,
            2 => Transform::Digits,
            3 => Transform::Last(n),
            4 => Transform::Prefix(n),
            _ => return Err(Error::invalid_argument("unknown blind-index transform")),
        })
    }

    /// Writes the transformed value to `out`. `Ok(false)` means "not done
    /// here" (casefold of a non-ASCII value).
    pub fn apply(&self, value: &[u8], out: &mut Vec<u8>) -> Result<bool> {
        match *self {
            Transform::Identity => out.extend_from_slice(value),
            Transform::Casefold => {
                if !value.is_ascii() {
                    return Ok(false);
                }
                out.extend(value.iter().map(u8::to_ascii_lowercase));
            }
            Transform::Digits => out.extend(value.iter().copied().filter(u8::is_ascii_digit)),
            Transform::Last(n) => {
                let s = utf8(value)?;
                let count = s.chars().count();
                let skip = count.saturating_sub(n as usize);
                let start = s.char_indices().nth(skip).map_or(s.len(), |(i, _)| i);
                out.extend_from_slice(&value[start..]);
            }
            Transform::Prefix(n) => {
                let s = utf8(value)?;
                let end = s.char_indices().nth(n as usize).map_or(s.len(), |(i, _)| i);
                out.extend_from_slice(&value[..end]);
            }
        }
        Ok(true)
    }
}

fn utf8(value: &[u8]) -> Result<&str> {
    std::str::from_utf8(value)
        .map_err(|_| Error::invalid_encoding("string value is not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(t: Transform, v: &str) -> Option<String> {
        let mut out = Vec::new();
        t.apply(v.as_bytes(), &mut out)
            .unwrap()
            .then(|| String::from_utf8(out).unwrap())
    }

    #[test]
    fn transforms() {
        assert_eq!(
            run(Transform::Casefold, "Zhang@Bank.CN").unwrap(),
            "zhang@bank.cn"
        );
        assert_eq!(run(Transform::Casefold, "Straße"), None);
        assert_eq!(
            run(Transform::Digits, "+86 138-0013-8000").unwrap(),
            "8613800138000"
        );
        assert_eq!(run(Transform::Last(4), "张三丰1234").unwrap(), "1234");
        assert_eq!(run(Transform::Last(4), "张三").unwrap(), "张三");
        assert_eq!(run(Transform::Prefix(3), "张三丰1234").unwrap(), "张三丰");
        assert_eq!(run(Transform::Prefix(3), "ab").unwrap(), "ab");
    }
}
