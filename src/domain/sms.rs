//! How many SMS segments a text takes. A text that fits the GSM 03.38 alphabet (the basic
//! set, plus the extension table whose characters take two septets: an escape and the
//! character) goes as GSM-7: 160 septets in a single message, 153 per part once it is split
//! (the user data header takes the rest). Anything else goes as UCS-2: 70 UTF-16 units, 67
//! per part. A part never ends between an escape and its character, nor inside a surrogate
//! pair, so long texts are packed greedily rather than divided.

/// The GSM 03.38 basic character set (without the escape itself).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table: each takes two septets.
const GSM7_EXTENSION: &str = "\u{0C}^{}\\[~]|€";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsEncoding {
    Gsm7,
    Ucs2,
}

impl SmsEncoding {
    pub fn as_str(self) -> &'static str {
        match self {
            SmsEncoding::Gsm7 => "gsm7",
            SmsEncoding::Ucs2 => "ucs2",
        }
    }

    /// Units in a message that is not split, and in each part of one that is.
    fn limits(self) -> (usize, usize) {
        match self {
            SmsEncoding::Gsm7 => (160, 153),
            SmsEncoding::Ucs2 => (70, 67),
        }
    }
}

/// What a text costs to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsSize {
    pub encoding: SmsEncoding,
    /// Septets (GSM-7) or UTF-16 units (UCS-2).
    pub units: usize,
    pub segments: usize,
}

/// Septets `c` takes in GSM-7, `None` when it is not in the alphabet.
fn gsm7_septets(c: char) -> Option<usize> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// The size of `text` as an SMS. An empty text is one (empty) segment.
pub fn sms_size(text: &str) -> SmsSize {
    let gsm: Option<Vec<usize>> = text.chars().map(gsm7_septets).collect();
    let (encoding, costs) = match gsm {
        Some(costs) => (SmsEncoding::Gsm7, costs),
        None => (
            SmsEncoding::Ucs2,
            text.chars().map(char::len_utf16).collect(),
        ),
    };
    let units: usize = costs.iter().sum();
    let (single, part) = encoding.limits();
    let segments = if units <= single {
        1
    } else {
        // Greedy packing: a character that does not fit whole starts the next part.
        let mut segments = 1;
        let mut used = 0;
        for cost in costs {
            if used + cost > part {
                segments += 1;
                used = 0;
            }
            used += cost;
        }
        segments
    };
    SmsSize {
        encoding,
        units,
        segments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(text: &str) -> (SmsEncoding, usize, usize) {
        let s = sms_size(text);
        (s.encoding, s.units, s.segments)
    }

    #[test]
    fn gsm7_fits_160_then_153_per_part() {
        assert_eq!(size(""), (SmsEncoding::Gsm7, 0, 1));
        assert_eq!(size(&"a".repeat(160)), (SmsEncoding::Gsm7, 160, 1));
        assert_eq!(size(&"a".repeat(161)), (SmsEncoding::Gsm7, 161, 2));
        assert_eq!(size(&"a".repeat(306)), (SmsEncoding::Gsm7, 306, 2));
        assert_eq!(size(&"a".repeat(307)), (SmsEncoding::Gsm7, 307, 3));
        // The basic set's accented letters and Greek capitals are one septet each.
        assert_eq!(size("Grüße Ådña ΔΩ £5 @ §¿"), (SmsEncoding::Gsm7, 21, 1));
    }

    #[test]
    fn extension_characters_take_two_septets_and_are_not_split() {
        assert_eq!(size("€"), (SmsEncoding::Gsm7, 2, 1));
        assert_eq!(size("[]{}|~^\\"), (SmsEncoding::Gsm7, 16, 1));
        assert_eq!(
            size(&format!("{}€", "a".repeat(158))),
            (SmsEncoding::Gsm7, 160, 1)
        );
        assert_eq!(
            size(&format!("{}€", "a".repeat(159))),
            (SmsEncoding::Gsm7, 161, 2)
        );
        // 152 septets then a euro: it does not fit the first part's last septet, so it
        // moves whole to the second part; 153 + 152 + 2 would otherwise be exactly 2 parts.
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(152));
        assert_eq!(size(&text), (SmsEncoding::Gsm7, 306, 3));
    }

    #[test]
    fn anything_else_is_ucs2_at_70_then_67() {
        assert_eq!(size(&"ж".repeat(70)), (SmsEncoding::Ucs2, 70, 1));
        assert_eq!(size(&"ж".repeat(71)), (SmsEncoding::Ucs2, 71, 2));
        assert_eq!(size(&"ж".repeat(134)), (SmsEncoding::Ucs2, 134, 2));
        assert_eq!(size(&"ж".repeat(135)), (SmsEncoding::Ucs2, 135, 3));
        // One character outside the alphabet turns the whole text into UCS-2.
        assert_eq!(
            size(&format!("{}ç", "a".repeat(69))),
            (SmsEncoding::Ucs2, 70, 1)
        );
    }

    #[test]
    fn emoji_are_two_units_and_never_split() {
        assert_eq!(size("🎉"), (SmsEncoding::Ucs2, 2, 1));
        assert_eq!(size(&"🎉".repeat(35)), (SmsEncoding::Ucs2, 70, 1));
        assert_eq!(size(&"🎉".repeat(36)), (SmsEncoding::Ucs2, 72, 2));
        // 66 units then an emoji: the pair goes whole into the second part.
        let text = format!("{}🎉{}", "ж".repeat(66), "ж".repeat(66));
        assert_eq!(size(&text), (SmsEncoding::Ucs2, 134, 3));
    }
}
