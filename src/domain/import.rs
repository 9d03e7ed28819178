//! Member imports from CSV: every row checked the way an enrollment through the API is, and
//! every problem reported with its row and column, so a marketer fixes the file once. A file
//! with any bad row is refused whole.

pub mod mapped;

use std::collections::HashMap;

use serde::Serialize;

use super::member::{Consent, EnrollInput, NewMember};

/// Columns an import may have; `name` is required.
pub const COLUMNS: [&str; 6] = [
    "external_id",
    "name",
    "email",
    "phone",
    "consent_email",
    "consent_sms",
];

/// Rows in one import at most.
pub const MAX_ROWS: usize = 100_000;

/// One problem in a file: `row` counts lines as a spreadsheet shows them (the header is 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RowError {
    pub row: usize,
    pub field: String,
    pub message: String,
}

/// One checked row, with the line it came from.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub row: usize,
    pub member: NewMember,
}

/// Reads a members CSV (UTF-8, comma-separated, a header row). Returns every row checked,
/// or every problem found; `on_row` is told how many rows were read, for progress bars.
pub fn parse_members(
    bytes: &[u8],
    on_row: &mut dyn FnMut(usize),
) -> Result<Vec<ImportRow>, Vec<RowError>> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let err = |row: usize, field: &str, message: String| RowError {
        row,
        field: field.to_string(),
        message,
    };
    let headers = match reader.headers() {
        Ok(h) => h.iter().map(str::to_ascii_lowercase).collect::<Vec<_>>(),
        Err(e) => return Err(vec![err(1, "", format!("the header cannot be read: {e}"))]),
    };
    let mut errors: Vec<RowError> = headers
        .iter()
        .filter(|h| !COLUMNS.contains(&h.as_str()))
        .map(|h| {
            err(
                1,
                h,
                format!("unknown column; the columns are {}", COLUMNS.join(", ")),
            )
        })
        .collect();
    if !headers.iter().any(|h| h == "name") {
        errors.push(err(1, "name", "the name column is required".into()));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let column = |name: &str| headers.iter().position(|h| h == name);
    let (c_ext, c_name, c_email, c_phone, c_ce, c_cs) = (
        column("external_id"),
        column("name"),
        column("email"),
        column("phone"),
        column("consent_email"),
        column("consent_sms"),
    );
    let mut rows = Vec::new();
    let mut seen_ext: HashMap<String, usize> = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        on_row(i + 1);
        if rows.len() + errors.len() >= MAX_ROWS {
            errors.push(err(row, "", format!("at most {MAX_ROWS} rows per import")));
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(err(row, "", format!("the row cannot be read: {e}")));
                continue;
            }
        };
        let get = |c: Option<usize>| {
            c.and_then(|c| record.get(c))
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let mut flag = |c: Option<usize>, field: &str| match get(c).as_deref() {
            None | Some("0" | "false" | "no" | "n") => false,
            Some("1" | "true" | "yes" | "y") => true,
            Some(other) => {
                errors.push(err(
                    row,
                    field,
                    format!("{other:?} is not yes/no, true/false or 1/0"),
                ));
                false
            }
        };
        let consent = Consent {
            email: flag(c_ce, "consent_email"),
            sms: flag(c_cs, "consent_sms"),
        };
        let input = EnrollInput {
            external_id: get(c_ext),
            name: get(c_name).unwrap_or_default(),
            email: get(c_email),
            phone: get(c_phone),
            consent,
        };
        match input.validated() {
            Ok(member) => {
                if let Some(ext) = &member.external_id {
                    if let Some(first) = seen_ext.insert(ext.clone(), row) {
                        errors.push(err(
                            row,
                            "external_id",
                            format!("{ext:?} is also on row {first}"),
                        ));
                        continue;
                    }
                }
                rows.push(ImportRow { row, member });
            }
            Err(e) => errors.push(err(row, &e.field, e.message)),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<ImportRow>, Vec<RowError>> {
        parse_members(s.as_bytes(), &mut |_| {})
    }

    #[test]
    fn good_rows_become_enrollments() {
        let rows = parse(
            "\u{feff}external_id,name,email,phone,consent_email,consent_sms\n\
             c-1,Ada Lovelace,ada@example.com,,yes,\n\
             c-2, Grace Hopper ,,+44 20 7946 0958,no,1\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].row, 2);
        assert_eq!(rows[0].member.name, "Ada Lovelace");
        assert!(rows[0].member.consent.email);
        assert_eq!(rows[1].member.name, "Grace Hopper");
        assert_eq!(
            rows[1].member.phone.as_ref().unwrap().as_str(),
            "+442079460958"
        );
        assert!(rows[1].member.consent.sms && !rows[1].member.consent.email);
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let errors = parse(
            "external_id,name,email,consent_email\n\
             c-1,Ada,ada@example.com,yes\n\
             c-2,,bob@example.com,no\n\
             c-3,Cy,not-an-email,no\n\
             c-1,Dup,dup@example.com,maybe\n",
        )
        .unwrap_err();
        let found: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.field.as_str())).collect();
        assert_eq!(
            found,
            [
                (3, "name"),
                (4, "email"),
                (5, "consent_email"),
                (5, "external_id")
            ]
        );
        assert!(errors[3].message.contains("row 2"), "{errors:?}");
    }

    #[test]
    fn headers_are_checked_first() {
        let errors = parse("nom,email\nAda,ada@example.com\n").unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors.iter().all(|e| e.row == 1));
        let ragged = parse("name,email\nAda\n").unwrap_err();
        assert_eq!(ragged[0].row, 2);
    }
}
