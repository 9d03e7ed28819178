//! How members are found by what a person types: the keys stored for each member (its
//! search terms) and the prefixes a typed search is looked up with. Both sides fold text the
//! same way (lower case in every script, accents dropped: "Müller" is found by "mul"), so a
//! search is a prefix range over one index and stays fast at a million members.
//!
//! A member's terms: the name from the start of each of its words ("anna maria schmidt",
//! "maria schmidt", "schmidt"), the email address, the external id, the phone number as
//! E.164 digits and nationally (without the country code, and without a leading 0), and the
//! card's serial (the code printed under the barcode).

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::domain::member::Member;

/// Bumped when [`terms`] changes, so stored terms made by an older rule are made again.
pub const TERMS_VERSION: i64 = 2;

/// What a card code's term starts with (a character no folded text or phone number has).
const CODE: char = '#';

/// Terms longer than this are cut (a term is a prefix key: its start is what is searched).
const MAX_TERM: usize = 64;

/// `text` in lower case without accents, spaces collapsed.
pub fn fold(text: &str) -> String {
    let folded: String = text
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The key members are sorted by name with: the folded name.
pub fn name_key(name: &str) -> String {
    fold(name)
}

fn cut(term: &str) -> String {
    term.chars().take(MAX_TERM).collect()
}

/// The country calling code at the start of E.164 `digits` (ITU-T E.164 assignments: 1 and 7
/// are one digit; the two-digit codes are listed; every other code has three digits).
fn calling_code_len(digits: &str) -> usize {
    const TWO: [&str; 44] = [
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
        "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
        "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    match digits.as_bytes().first() {
        Some(b'1' | b'7') => 1,
        _ if TWO.iter().any(|c| digits.starts_with(c)) => 2,
        _ => 3,
    }
}

/// What a member is found by, as stored.
#[derive(Debug, Clone, Copy)]
pub struct Findable<'a> {
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub external_id: Option<&'a str>,
    pub serial: &'a str,
}

impl<'a> From<&'a Member> for Findable<'a> {
    fn from(m: &'a Member) -> Findable<'a> {
        Findable {
            name: &m.name,
            email: m.email.as_ref().map(|e| e.as_str()),
            phone: m.phone.as_ref().map(|p| p.as_str()),
            external_id: m.external_id.as_deref(),
            serial: m.serial.as_str(),
        }
    }
}

/// Every term `m` is found by, without repeats.
pub fn terms(m: Findable<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |term: String| {
        if !term.is_empty() && !out.contains(&term) {
            out.push(term);
        }
    };
    let name = fold(m.name);
    let word_starts = name
        .char_indices()
        .filter(|(_, c)| matches!(c, ' ' | '-'))
        .map(|(i, c)| i + c.len_utf8());
    for start in std::iter::once(0).chain(word_starts) {
        add(cut(&name[start..]));
    }
    if let Some(email) = m.email {
        add(cut(&fold(email)));
    }
    if let Some(external) = m.external_id {
        add(cut(&fold(external)));
    }
    if let Some(phone) = m.phone {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        add(format!("+{digits}"));
        let national = &digits[calling_code_len(&digits).min(digits.len())..];
        add(national.to_string());
        add(national.trim_start_matches('0').to_string());
    }
    // Marked, so only a typed card code finds it: "a" is not the start of 1 card in 32.
    add(format!("{CODE}{}", m.serial));
    out
}

/// The prefixes a typed search is looked up with (see the module's documentation): the folded
/// text; a phone number's E.164 form (`+49 151…`, `0049 151…`) or national digits (`0151…`,
/// the leading 0 dropped); the card code without its spaces and dashes. Empty when nothing
/// was typed.
pub fn prefixes(typed: &str) -> Vec<String> {
    let typed = typed.trim();
    let mut out = Vec::new();
    if typed.is_empty() {
        return out;
    }
    let folded = cut(&fold(typed));
    let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
    let phone_like = digits.len() >= 3
        && typed
            .chars()
            .all(|c| c.is_ascii_digit() || " +-./()".contains(c));
    if phone_like {
        if typed.starts_with('+') || typed.starts_with("00") {
            out.push(format!("+{}", digits.strip_prefix("00").unwrap_or(&digits)));
        } else {
            out.push(digits.trim_start_matches('0').to_string());
        }
    }
    let compact: String = folded.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if compact.len() >= 8
        && compact
            .bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
    {
        out.push(format!("{CODE}{compact}"));
    }
    out.push(folded);
    out.retain(|p| !p.is_empty());
    out.sort();
    out.dedup();
    // A prefix of another finds all it finds.
    let all = out.clone();
    out.retain(|p| !all.iter().any(|q| q != p && p.starts_with(q.as_str())));
    out
}

/// The first string after every string that starts with `prefix` (in byte order): the end
/// of a prefix's range. `None` when there is none (a prefix of only U+10FFFF).
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests;
