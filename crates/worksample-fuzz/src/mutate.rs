//! Structure-aware mutation of corpus entries: generic byte edits for every target, plus edits
//! that know the shape of the input — DICOM element headers and sequences, JSON values, TOML
//! lines — so that mutants get past the first sanity check and reach the caps behind it.

use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::target::Shape;

/// Length values that stress a reader: undefined length, its neighbours, and the extremes.
const HOSTILE_LENGTHS: [u32; 7] = [
    0,
    1,
    0x7FFF_FFFF,
    0xFFFF_FFFE,
    0xFFFF_FFFF,
    0x0001_0000,
    0x00FF_FFFF,
];

/// VRs whose explicit-VR header has two reserved bytes and a 32-bit length (PS3.5 §7.1.2,
/// table 7.1-1); every other VR has a 16-bit length.
const LONG_VRS: [&[u8; 2]; 13] = [
    b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV",
];

/// Strings that have broken graders elsewhere: traversal, absolute and device paths, NUL,
/// huge and non-finite numbers written as text.
const HOSTILE_STRINGS: [&str; 10] = [
    "../../../etc/passwd",
    "/dev/zero",
    "a\u{0}b",
    "",
    "NaN",
    "1e309",
    "-0",
    "\u{202e}evil",
    "C:\\windows\\system32",
    "{output}",
];

/// Mutates corpus entries with a seeded generator, so a run is reproducible from its seed.
#[derive(Debug)]
pub struct Mutator {
    rng: ChaCha8Rng,
    /// Largest mutant produced; bigger inputs are cut.
    max_len: usize,
}

impl Mutator {
    /// A mutator seeded with `seed` that keeps mutants at most `max_len` bytes.
    pub fn new(rng: ChaCha8Rng, max_len: usize) -> Self {
        Mutator { rng, max_len }
    }

    /// A random index below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n.max(1))
    }

    /// One to four stacked mutations of `input`; `other` is another corpus entry to splice from.
    pub fn mutate(&mut self, shape: Shape, input: &[u8], other: &[u8]) -> Vec<u8> {
        let mut out = input.to_vec();
        let rounds = 1 + self.below(4);
        for _ in 0..rounds {
            let structured = self.rng.random_bool(0.5);
            out = match (structured, shape) {
                (false, _) => self.generic(out, other),
                (true, Shape::Dicom) => self.dicom(out),
                (true, Shape::Json) => self.json(out),
                (true, Shape::Toml) => self.toml(out),
                (true, Shape::Csv) => self.csv(out),
            };
            // Cut after every round, not only at the end: stacked rounds that each multiply
            // the input (20,000 copies of an element, twice) once took a worker to 23 GB and
            // the kernel's OOM killer, outside any input's heap budget.
            out.truncate(self.max_len);
        }
        out
    }

    fn generic(&mut self, mut data: Vec<u8>, other: &[u8]) -> Vec<u8> {
        let len = data.len();
        match self.below(9) {
            0 if len > 0 => {
                let i = self.below(len);
                data[i] ^= 1 << self.below(8);
            }
            1 if len > 0 => {
                let i = self.below(len);
                data[i] = [0x00, 0xFF, 0x7F, 0x80, b'"', b'[', b'{', b'\\'][self.below(8)];
            }
            2 => {
                let i = self.below(len + 1);
                let n = 1 + self.below(16);
                let mut bytes = vec![0u8; n];
                self.rng.fill_bytes(&mut bytes);
                data.splice(i..i, bytes);
            }
            3 if len > 1 => {
                let a = self.below(len);
                let b = (a + 1 + self.below(64)).min(len);
                data.drain(a..b);
            }
            4 if len > 1 => {
                let a = self.below(len);
                let b = (a + 1 + self.below(256)).min(len);
                let chunk = data[a..b].to_vec();
                let at = self.below(len + 1);
                data.splice(at..at, chunk);
            }
            5 => data.truncate(self.below(len + 1)),
            6 if len >= 4 => {
                let i = self.below(len - 3);
                let v = HOSTILE_LENGTHS[self.below(HOSTILE_LENGTHS.len())];
                data[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            7 if !other.is_empty() => {
                let cut = self.below(len + 1);
                let from = self.below(other.len());
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            _ => {
                let mut bytes = vec![0u8; 1 + self.below(512)];
                self.rng.fill_bytes(&mut bytes);
                if len == 0 {
                    data = bytes;
                } else {
                    let i = self.below(len);
                    let n = bytes.len().min(len - i);
                    data[i..i + n].copy_from_slice(&bytes[..n]);
                }
            }
        }
        data
    }

    /// Edits at explicit-VR element headers: lengths, VRs, nested sequences, delimiters, the
    /// transfer syntax.
    fn dicom(&mut self, mut data: Vec<u8>) -> Vec<u8> {
        let headers = element_headers(&data);
        let pick = if headers.is_empty() {
            None
        } else {
            Some(headers[self.below(headers.len())])
        };
        match (self.below(6), pick) {
            (0, Some((at, long))) => {
                let v = HOSTILE_LENGTHS[self.below(HOSTILE_LENGTHS.len())];
                if long {
                    data[at + 8..at + 12].copy_from_slice(&v.to_le_bytes());
                } else {
                    let short = (v & 0xFFFF) as u16;
                    data[at + 6..at + 8].copy_from_slice(&short.to_le_bytes());
                }
            }
            (1, Some((at, _))) => {
                let vr = LONG_VRS[self.below(LONG_VRS.len())];
                data[at + 4..at + 6].copy_from_slice(vr);
            }
            (2, pick) => {
                // Undefined-length sequences and items nested `depth` deep (PS3.5 §7.5.1),
                // closed or left open.
                let depth = [2, 9, 33, 1000, 100_000][self.below(5)];
                let close = self.rng.random_bool(0.5);
                let nest = nested_sequences(depth, close);
                let at = pick.map_or(data.len(), |(at, _)| at);
                data.splice(at..at, nest);
            }
            (3, pick) => {
                // A stray item, item delimiter or sequence delimiter (PS3.5 §7.5).
                let tag: [u8; 4] = [
                    [0xFE, 0xFF, 0x00, 0xE0],
                    [0xFE, 0xFF, 0x0D, 0xE0],
                    [0xFE, 0xFF, 0xDD, 0xE0],
                ][self.below(3)];
                let mut el = tag.to_vec();
                el.extend_from_slice(
                    &HOSTILE_LENGTHS[self.below(HOSTILE_LENGTHS.len())].to_le_bytes(),
                );
                let at = pick.map_or(data.len(), |(at, _)| at);
                data.splice(at..at, el);
            }
            (4, _) => {
                // Swap the transfer syntax for another one the reader knows or refuses.
                let uids: [&[u8]; 5] = [
                    b"1.2.840.10008.1.2\0",
                    b"1.2.840.10008.1.2.1.99",
                    b"1.2.840.10008.1.2.2\0",
                    b"1.2.840.10008.1.2.4.50",
                    b"1.2.840.10008.1.2.1\0",
                ];
                let from = b"1.2.840.10008.1.2.1";
                if let Some(i) = data.windows(from.len()).position(|w| w == from) {
                    let to = uids[self.below(uids.len())];
                    let end = (i + to.len()).min(data.len());
                    data[i..end].copy_from_slice(&to[..end - i]);
                }
            }
            (_, Some((at, _))) => data.truncate(at + self.below(12)),
            (_, None) => data.truncate(self.below(data.len() + 1)),
        }
        data
    }

    fn json(&mut self, mut data: Vec<u8>) -> Vec<u8> {
        if self.below(8) == 0 {
            // Nesting far past serde_json's recursion limit of 128, as text.
            let depth = [129, 5000, 1_000_000][self.below(3)];
            let at = self.below(data.len() + 1);
            let mut deep = "[".repeat(depth).into_bytes();
            deep.extend(std::iter::repeat_n(b']', depth));
            data.splice(at..at, deep);
            return data;
        }
        let Ok(mut doc) = serde_json::from_slice::<Value>(&data) else {
            return self.text(data);
        };
        let mut nodes = 0;
        count_nodes(&doc, &mut nodes);
        let target = self.below(nodes);
        let mut replacement = Some(self.hostile_value());
        let mut seen = 0;
        let budget = self.max_len;
        replace_node(
            &mut doc,
            target,
            &mut seen,
            &mut replacement,
            &mut self.rng,
            budget,
        );
        serde_json::to_vec(&doc).unwrap_or(data)
    }

    fn hostile_value(&mut self) -> Value {
        match self.below(9) {
            0 => json!(HOSTILE_STRINGS[self.below(HOSTILE_STRINGS.len())]),
            1 => match self.below(6) {
                0 => json!(1e308),
                1 => json!(-1e308),
                2 => json!(5e-324),
                3 => json!(u64::MAX),
                4 => json!(i64::MIN),
                _ => json!(0),
            },
            2 => Value::Null,
            3 => {
                // Built as a value, nesting stays shallow enough to serialise and drop on a
                // small stack; deeper nesting is spliced in as text (see `json`).
                let depth = [10, 60, 120][self.below(3)];
                let mut v = json!([]);
                for _ in 0..depth {
                    v = json!([v]);
                }
                v
            }
            4 => json!("x".repeat([64, 4096, 1 << 20][self.below(3)])),
            5 => json!({ "unexpected": true }),
            6 => Value::Bool(self.rng.random_bool(0.5)),
            7 => json!(-1),
            _ => json!([]),
        }
    }

    fn toml(&mut self, data: Vec<u8>) -> Vec<u8> {
        let Ok(text) = String::from_utf8(data.clone()) else {
            return self.text(data);
        };
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if lines.is_empty() {
            return self.text(data);
        }
        let i = self.below(lines.len());
        match self.below(7) {
            0 => {
                let copy = lines[i].clone();
                lines.insert(self.below(lines.len() + 1), copy);
            }
            1 => {
                lines.remove(i);
            }
            2 => {
                // Replace a value with a hostile one, keeping the key.
                if let Some(eq) = lines[i].find('=') {
                    let v = [
                        "-1",
                        "18446744073709551616",
                        "nan",
                        "inf",
                        "1e999",
                        "\"\"",
                        "[]",
                        "{}",
                        "\"../../../etc/passwd\"",
                        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
                    ][self.below(10)];
                    lines[i] = format!("{}= {v}", &lines[i][..eq]);
                }
            }
            3 => lines.insert(i, "[".repeat([8, 128, 100_000][self.below(3)])),
            4 => lines.insert(i, format!("x = \"{}\"", "a".repeat(1 << 17))),
            5 => {
                let j = self.below(lines.len());
                lines.swap(i, j);
            }
            _ => lines.insert(i, "[[task]]".to_owned()),
        }
        lines.join("\n").into_bytes()
    }

    /// Row and cell edits of comma-separated text, on bytes so that non-UTF-8 rows stay as
    /// they are: duplicated, dropped and swapped rows, hostile or quoted cells, extra and
    /// missing columns, many distinct rows (count caps), a huge cell, other line ends, a BOM.
    fn csv(&mut self, data: Vec<u8>) -> Vec<u8> {
        let mut rows: Vec<Vec<u8>> = data.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
        let i = self.below(rows.len());
        match self.below(10) {
            0 => {
                let copy = rows[i].clone();
                rows.insert(self.below(rows.len() + 1), copy);
            }
            1 => {
                rows.remove(i);
            }
            2 => {
                let j = self.below(rows.len());
                rows.swap(i, j);
            }
            3 => {
                // One cell replaced by a hostile, quoted or padded value.
                let mut cells: Vec<Vec<u8>> =
                    rows[i].split(|b| *b == b',').map(<[u8]>::to_vec).collect();
                let c = self.below(cells.len());
                let value: Vec<u8> = match self.below(4) {
                    0 => HOSTILE_STRINGS[self.below(HOSTILE_STRINGS.len())].into(),
                    1 => format!("\"{}\"", String::from_utf8_lossy(&cells[c])).into_bytes(),
                    2 => b"\"a,\"\"b\"\"\"".to_vec(),
                    _ => [b"  ", cells[c].as_slice(), b"\t "].concat(),
                };
                cells[c] = value;
                rows[i] = cells.join(&b',');
            }
            4 => {
                // A column more, or the separator gone.
                if self.rng.random_bool(0.5) {
                    rows[i].extend_from_slice(b",extra");
                } else {
                    rows[i].retain(|b| *b != b',');
                }
            }
            5 => {
                // Old and new swapped within the row.
                if let Some(at) = rows[i].iter().position(|b| *b == b',') {
                    let old = rows[i][..at].to_vec();
                    let new = rows[i][at + 1..].to_vec();
                    rows[i] = [new.as_slice(), b",", old.as_slice()].concat();
                }
            }
            6 => {
                // Many distinct rows: every one a new map entry.
                let n = [10, 1000, 100_000][self.below(3)];
                let at = self.below(rows.len() + 1);
                let extra = (0..n).map(|k| format!("1.2.3.{k},2.25.{k}").into_bytes());
                rows.splice(at..at, extra);
            }
            7 => {
                let cell = vec![b'7'; [4096, 1 << 16, 1 << 20][self.below(3)]];
                rows[i] = [cell.as_slice(), b",", cell.as_slice()].concat();
            }
            8 => {
                // Other line ends and a byte-order mark.
                let joined = rows.join(&b'\n');
                return match self.below(3) {
                    0 => String::from_utf8_lossy(&joined)
                        .replace('\n', "\r\n")
                        .into_bytes(),
                    1 => joined
                        .iter()
                        .map(|b| if *b == b'\n' { b'\r' } else { *b })
                        .collect(),
                    _ => [b"\xef\xbb\xbf".as_slice(), &joined].concat(),
                };
            }
            _ => rows.insert(i, b"id_old,id_new".to_vec()),
        }
        rows.join(&b'\n')
    }

    /// Token-level edits for text that no longer parses.
    fn text(&mut self, mut data: Vec<u8>) -> Vec<u8> {
        let token = [
            "\"", "[", "]", "{", "}", ",", ":", "=", "\n", "\\u0000", "\u{FFFD}",
        ][self.below(11)];
        let at = self.below(data.len() + 1);
        let n = 1 + self.below(3);
        for _ in 0..n {
            data.splice(at..at, token.bytes());
        }
        data
    }
}

/// Offsets of plausible explicit-VR little-endian element headers, and whether each has the
/// 32-bit length form.
fn element_headers(data: &[u8]) -> Vec<(usize, bool)> {
    let mut out = Vec::new();
    if data.len() < 12 {
        return out;
    }
    for at in 0..data.len() - 11 {
        let vr = [data[at + 4], data[at + 5]];
        if !vr.iter().all(u8::is_ascii_uppercase) {
            continue;
        }
        let long = LONG_VRS.iter().any(|v| **v == vr);
        if long && data[at + 6..at + 8] != [0, 0] {
            continue;
        }
        out.push((at, long));
        if out.len() >= 4096 {
            break;
        }
    }
    out
}

/// `depth` undefined-length sequences (tag 0040,A730 Content Sequence, VR SQ), each holding one
/// undefined-length item, closed by delimiters when `close`.
pub fn nested_sequences(depth: usize, close: bool) -> Vec<u8> {
    const SQ_OPEN: [u8; 12] = [
        0x40, 0x00, 0x30, 0xA7, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
    ];
    const ITEM_OPEN: [u8; 8] = [0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF];
    const ITEM_CLOSE: [u8; 8] = [0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0];
    const SQ_CLOSE: [u8; 8] = [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0];
    let mut out = Vec::with_capacity(depth * if close { 36 } else { 20 });
    for _ in 0..depth {
        out.extend_from_slice(&SQ_OPEN);
        out.extend_from_slice(&ITEM_OPEN);
    }
    if close {
        for _ in 0..depth {
            out.extend_from_slice(&ITEM_CLOSE);
            out.extend_from_slice(&SQ_CLOSE);
        }
    }
    out
}

fn count_nodes(v: &Value, n: &mut usize) {
    *n += 1;
    match v {
        Value::Array(items) => items.iter().for_each(|i| count_nodes(i, n)),
        Value::Object(map) => map.values().for_each(|i| count_nodes(i, n)),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

/// Replaces, removes or multiplies the `target`-th node (pre-order) of `v`; copies add at most
/// about `budget` bytes of JSON text.
fn replace_node(
    v: &mut Value,
    target: usize,
    seen: &mut usize,
    replacement: &mut Option<Value>,
    rng: &mut ChaCha8Rng,
    budget: usize,
) -> bool {
    if *seen == target {
        match (rng.random_range(0..4), &mut *v) {
            (0, Value::Array(items)) if !items.is_empty() => {
                // Many copies of one element: count caps.
                let first = items[0].clone();
                let size = serde_json::to_vec(&first).map_or(budget, |t| t.len() + 1);
                let copies = [2, 100, 20_000][rng.random_range(0..3)].min(budget / size.max(1));
                items.extend(std::iter::repeat_n(first, copies));
            }
            (1, Value::Object(map)) if !map.is_empty() => {
                let k = rng.random_range(0..map.len());
                if let Some(key) = map.keys().nth(k).cloned() {
                    map.remove(&key);
                }
            }
            _ => *v = replacement.take().unwrap_or(Value::Null),
        }
        return true;
    }
    *seen += 1;
    match v {
        Value::Array(items) => {
            for item in items {
                if replace_node(item, target, seen, replacement, rng, budget) {
                    return true;
                }
            }
            false
        }
        Value::Object(map) => {
            for (_, item) in map.iter_mut() {
                if replace_node(item, target, seen, replacement, rng, budget) {
                    return true;
                }
            }
            false
        }
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn nested_sequences_have_the_declared_shape() {
        let open = nested_sequences(3, false);
        assert_eq!(open.len(), 3 * 20);
        let closed = nested_sequences(3, true);
        assert_eq!(closed.len(), 3 * 36);
        assert_eq!(
            &closed[closed.len() - 8..closed.len() - 4],
            &[0xFE, 0xFF, 0xDD, 0xE0]
        );
    }

    #[test]
    fn element_headers_finds_short_and_long_forms() {
        let mut data = vec![
            0x10, 0x00, 0x10, 0x00, b'P', b'N', 4, 0, b'A', b'^', b'B', b' ',
        ];
        data.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0, 2, 0, 0, 0, 1, 2]);
        let found = element_headers(&data);
        assert!(found.contains(&(0, false)), "{found:?}");
        assert!(found.contains(&(12, true)), "{found:?}");
    }

    #[test]
    fn mutants_are_reproducible_and_bounded() {
        let seed = br#"{"a": [1, 2, {"b": "c"}], "d": null}"#;
        let run = |s: u64| {
            let mut m = Mutator::new(ChaCha8Rng::seed_from_u64(s), 4096);
            (0..200)
                .map(|_| m.mutate(Shape::Json, seed, b"[]"))
                .collect::<Vec<_>>()
        };
        let a = run(5);
        assert_eq!(a, run(5));
        assert!(a.iter().all(|m| m.len() <= 4096));
        assert!(a.iter().any(|m| m.as_slice() != seed.as_slice()));
    }

    #[test]
    fn copies_of_a_large_element_stay_within_the_length_budget() {
        // An array whose first element is 100 KB of JSON: 20,000 copies would be 2 GB.
        let big = json!([{ "x": "y".repeat(100_000) }, 1]);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut grown = 0;
        for _ in 0..200 {
            let mut v = big.clone();
            let mut replacement = Some(Value::Null);
            replace_node(&mut v, 0, &mut 0, &mut replacement, &mut rng, 1 << 20);
            let len = serde_json::to_vec(&v).expect("serialises").len();
            assert!(len <= (1 << 20) + 200_100, "{len} bytes");
            if v.as_array().is_some_and(|a| a.len() > 2) {
                grown += 1;
            }
        }
        assert!(grown > 0, "some edits still add copies");
    }

    #[test]
    fn csv_mutants_vary_reach_the_count_caps_and_stay_bounded() {
        let seed = b"id_old,id_new\nP1,DEID-1\nP2,DEID-2\n";
        let mut m = Mutator::new(ChaCha8Rng::seed_from_u64(3), 1 << 16);
        let mutants: Vec<Vec<u8>> = (0..300).map(|_| m.csv(seed.to_vec())).collect();
        assert!(
            (0..300).all(|_| m.mutate(Shape::Csv, seed, b"").len() <= 1 << 16),
            "mutants are cut at the maximum length"
        );
        let distinct: std::collections::BTreeSet<&Vec<u8>> = mutants.iter().collect();
        assert!(distinct.len() > 50, "{} distinct mutants", distinct.len());
        assert!(
            mutants
                .iter()
                .any(|x| x.windows(6).filter(|w| w == b"2.25.9").count() > 100),
            "some mutant adds many distinct rows"
        );
    }
}
