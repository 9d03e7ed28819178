//! `xx.lproj/pass.strings`: the translations Wallet looks up by the English text used in
//! `pass.json` (labels, values, description).
//!
//! Encoding: UTF-8 without a byte order mark. The sources disagree (apple-pkpass.md section 5):
//! pass-js writes UTF-16LE, but Apple's own StoreCard sample ships plain UTF-8 and
//! passkit-generator reads and writes UTF-8 only (it silently dropped a UTF-16 file in our test),
//! and no Apple page names a required encoding. UTF-8 is what the widely deployed generator and
//! Apple's sample agree on. Confirm on a real device when one is available.

/// Lines of `"key" = "value";`, escaped like C string literals.
pub fn encode_pass_strings(entries: &[(String, String)]) -> Vec<u8> {
    let mut out = String::with_capacity(entries.iter().map(|(k, v)| k.len() + v.len() + 8).sum());
    for (key, value) in entries {
        out.push('"');
        escape_into(&mut out, key);
        out.push_str("\" = \"");
        escape_into(&mut out, value);
        out.push_str("\";\n");
    }
    out.into_bytes()
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Other control characters would end or corrupt the line; the strings format spells
            // them as \U followed by four hex digits.
            c if c.is_control() => out.push_str(&format!("\\U{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader for the subset we write, to prove nothing is lost on the way.
    fn decode(bytes: &[u8]) -> Vec<(String, String)> {
        let text = std::str::from_utf8(bytes).unwrap();
        text.lines()
            .map(|line| {
                let (key, rest) = read_quoted(line);
                let rest = rest.strip_prefix(" = ").unwrap();
                let (value, rest) = read_quoted(rest);
                assert_eq!(rest, ";");
                (key, value)
            })
            .collect()
    }

    fn read_quoted(s: &str) -> (String, &str) {
        let mut chars = s.strip_prefix('"').unwrap().char_indices();
        let mut out = String::new();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return (out, &s[i + 2..]),
                '\\' => match chars.next().unwrap().1 {
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'U' => {
                        let hex: String = (0..4).map(|_| chars.next().unwrap().1).collect();
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                    }
                    other => out.push(other),
                },
                c => out.push(c),
            }
        }
        panic!("unterminated string in {s:?}");
    }

    #[test]
    fn writes_one_escaped_line_per_entry() {
        let entries = vec![
            ("POINTS".to_owned(), "Punkte".to_owned()),
            ("Say \"hi\"".to_owned(), "Sag \"Hallo\"".to_owned()),
        ];
        let text = String::from_utf8(encode_pass_strings(&entries)).unwrap();
        assert_eq!(
            text,
            "\"POINTS\" = \"Punkte\";\n\"Say \\\"hi\\\"\" = \"Sag \\\"Hallo\\\"\";\n"
        );
    }

    #[test]
    fn quotes_backslashes_newlines_and_umlauts_round_trip() {
        let entries = vec![
            ("Member since".to_owned(), "Mitglied seit".to_owned()),
            (
                "C:\\path \"quoted\"".to_owned(),
                "Größe: \"groß\" \\ Äpfel".to_owned(),
            ),
            (
                "Line one\nLine two".to_owned(),
                "Zeile eins\r\nZeile zwei\tTab".to_owned(),
            ),
            ("bell\u{7}".to_owned(), "Grüße 🎉".to_owned()),
        ];
        let bytes = encode_pass_strings(&entries);
        assert!(!bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "no BOM");
        assert!(
            std::str::from_utf8(&bytes).unwrap().contains("Größe"),
            "umlauts stay as UTF-8, unescaped"
        );
        assert_eq!(
            bytes.iter().filter(|b| **b == b'\n').count(),
            entries.len(),
            "one line per entry"
        );
        assert_eq!(decode(&bytes), entries);
    }

    #[test]
    fn empty_input_gives_empty_file() {
        assert!(encode_pass_strings(&[]).is_empty());
    }
}
