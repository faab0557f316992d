//! The import file's rules: both formats, every refusal with its row number and reason,
//! the limits, and nothing secret in a reason.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use lanyard_core::model::SiteRole;
use lanyard_sites::import::{self, Format, MAX_ROWS, Problem};

const BCRYPT: &str = "$2b$04$EGdrhbKUv8Oc9vGiXX0HQOxSg445d458Muh7DAHskb6QbtCvdxcie";
const PBKDF2: &str =
    "$pbkdf2-sha256$29000$N2bsvdc6R2jNGWPMmbPWmg$hPIr1H8pnHBzHxiA8DKH0IzUC4LM8Hu9fZBJ1Mv3n9U";
const SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(path).unwrap()
}

fn csv(text: &str) -> Result<Vec<import::CheckedRow>, Vec<Problem>> {
    import::read(text.as_bytes(), Format::Csv)
}

fn problems(text: &str) -> Vec<String> {
    csv(text)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn the_format_follows_the_extension() {
    assert_eq!(Format::from_file_name("users.csv"), Some(Format::Csv));
    assert_eq!(
        Format::from_file_name("/tmp/x/USERS.JSON"),
        Some(Format::Json)
    );
    for name in ["users", "users.txt", "users.csv.gz", "csv", ""] {
        assert_eq!(Format::from_file_name(name), None, "{name}");
    }
}

#[test]
fn the_fixtures_read_the_same_in_both_formats() {
    let from_csv = import::read(&fixture("legacy_users.csv"), Format::Csv).unwrap();
    let from_json = import::read(&fixture("legacy_users.json"), Format::Json).unwrap();
    assert_eq!(from_csv.len(), 8);
    let key = |r: &import::CheckedRow| {
        (
            r.login.clone(),
            r.email_normalized.clone(),
            r.role,
            r.password_hash.clone(),
            r.totp_secret.as_ref().map(|s| s.to_vec()),
        )
    };
    let a: Vec<_> = from_csv.iter().map(key).collect();
    let b: Vec<_> = from_json.iter().map(key).collect();
    assert_eq!(a, b);
    let alice = &from_csv[0];
    assert_eq!((alice.row, alice.login.as_str()), (2, "alice"));
    assert_eq!(alice.role, SiteRole::Admin);
    assert_eq!(alice.totp_secret.as_ref().unwrap().len(), 20);
    let erin = &from_csv[4];
    assert_eq!(
        (erin.login.as_str(), erin.login_normalized.as_str()),
        ("Erin", "erin")
    );
    assert_eq!(from_json[4].row, 5, "JSON rows count objects from 1");
    assert_eq!(alice.email, "Alice@Legacy.example");
    assert_eq!(alice.email_normalized, "alice@legacy.example");
}

#[test]
fn a_good_csv_tolerates_order_bom_spaces_and_quotes() {
    let text = format!(
        "\u{feff}role, login ,password_hash,email,totp_secret\n\
         admin, Ann ,{BCRYPT},ann@example.com,\"jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp\"\n\
         client_user,\"Bob, Jr.\",{PBKDF2},b@example.com,\n"
    );
    let rows = csv(&text).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].login, "Ann");
    assert_eq!(rows[0].role, SiteRole::Admin);
    assert!(rows[0].totp_secret.is_some());
    assert_eq!((rows[1].row, rows[1].login.as_str()), (3, "Bob, Jr."));
    assert!(rows[1].totp_secret.is_none());
}

#[test]
fn rows_are_numbered_by_the_line_they_start_on() {
    // A quoted field may span lines: the next record's number is its line in the file.
    let found = problems(&format!(
        "login,email,role,password_hash\n\"two\nlines\",a@example.com,admin,{BCRYPT}\n\
         ok,b@example.com,boss,{BCRYPT}\n"
    ));
    assert_eq!(
        found,
        [
            "row 2: the login contains control characters",
            "row 4: bad role \"boss\": licensed_user, admin or client_user",
        ]
    );
}

#[test]
fn every_row_problem_is_reported_with_its_row() {
    let text = format!(
        "login,email,role,password_hash,totp_secret\n\
         ok,ok@example.com,admin,{BCRYPT},\n\
         short,short@example.com,admin\n\
         bademail,not-an-email,admin,{BCRYPT},\n\
         badrole,r@example.com,superuser,{BCRYPT},\n\
         badhash,h@example.com,admin,$1$md5$nope,\n\
         OK,other@example.com,admin,{BCRYPT},\n\
         dupemail,OK@example.com,admin,{BCRYPT},\n\
         badtotp,t@example.com,admin,{BCRYPT},not*base32\n\
         shorttotp,s@example.com,admin,{BCRYPT},JBSWY3DPEHPK3PXP\n\
         ,empty@example.com,admin,{BCRYPT},\n"
    );
    let found = problems(&text);
    assert_eq!(
        found,
        [
            "row 3: malformed row: 3 fields where the header has 5",
            "row 4: bad email: missing @",
            "row 5: bad role \"superuser\": licensed_user, admin or client_user",
            "row 6: unknown password hash format (expected bcrypt $2a$/$2b$/$2y$, \
             $pbkdf2-sha256$ or $argon2id$/$argon2i$/$argon2d$)",
            "row 7: duplicate login \"ok\" (first on row 2)",
            "row 8: duplicate email ok@example.com (first on row 2)",
            "row 9: bad TOTP secret: not base32 (RFC 4648)",
            "row 10: bad TOTP secret: shorter than 128 bits",
            "row 11: the login is empty",
        ]
    );
}

#[test]
fn a_row_with_several_problems_lists_each() {
    let found = problems("login,email,role,password_hash\nx,bad,boss,plain\n");
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found.iter().all(|p| p.starts_with("row 2: ")));
}

#[test]
fn secrets_never_appear_in_reasons() {
    let hash = "$2b$99$secretsecretsecretsecretsecretsecretsecretsecretsecre";
    let totp = "SECRETSECRETSECRET!";
    let found = problems(&format!(
        "login,email,role,password_hash,totp_secret\nx,x@example.com,admin,{hash},{totp}\n"
    ));
    assert_eq!(found.len(), 2, "{found:?}");
    for p in found {
        assert!(
            !p.contains("secretsecret") && !p.contains("SECRETSECRET"),
            "{p}"
        );
    }
}

#[test]
fn bad_headers_are_refused_at_row_1() {
    for (header, why) in [
        ("login,email,role", "missing"),
        (
            "login,email,role,password_hash,password",
            "unknown column \"password\"",
        ),
        (
            "login,email,role,password_hash,login",
            "column \"login\" twice",
        ),
    ] {
        let found = problems(&format!("{header}\nx,x@example.com,admin,{BCRYPT},y\n"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("row 1: ") && found[0].contains(why),
            "{found:?}"
        );
    }
    assert_eq!(problems(""), ["file: empty: no header"]);
    assert_eq!(
        problems("login,email,role,password_hash\n"),
        ["file: no users in the file"]
    );
}

#[test]
fn broken_csv_is_malformed() {
    let not_utf8 = b"login,email,role,password_hash\n\xff\xfe,x@example.com,admin,h\n";
    let found = import::read(not_utf8, Format::Csv).unwrap_err();
    assert_eq!(found, [Problem::row(2, "malformed row: not UTF-8")]);
    let found = problems("login,email,role,password_hash\n\"open,x@example.com,admin,h\n");
    assert_eq!(found.len(), 1, "{found:?}");
}

#[test]
fn json_rows_are_checked_the_same_way() {
    let text = format!(
        r#"[
          {{"login": "a", "email": "a@example.com", "role": "admin", "password_hash": "{BCRYPT}", "totp_secret": null}},
          {{"login": "b", "email": "b@example.com", "role": "admin", "password_hash": "{BCRYPT}", "totp_secret": "{SECRET}"}},
          ["not", "an", "object"],
          {{"login": "c", "email": "c@example.com", "role": "admin"}},
          {{"login": "d", "email": "d@example.com", "role": "admin", "password_hash": "{BCRYPT}", "extra": "x"}},
          {{"login": 5, "email": "e@example.com", "role": "admin", "password_hash": "{BCRYPT}"}},
          {{"login": "A", "email": "f@example.com", "role": "licensed_user", "password_hash": "{BCRYPT}"}}
        ]"#
    );
    let found: Vec<String> = import::read(text.as_bytes(), Format::Json)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        found,
        [
            "row 3: malformed row: not an object",
            "row 4: malformed row: password_hash is missing",
            "row 5: malformed row: unknown key \"extra\"",
            "row 6: malformed row: login is not a string",
            "row 7: duplicate login \"a\" (first on row 1)",
        ]
    );
    let not_array = import::read(br#"{"login": "a"}"#, Format::Json).unwrap_err();
    assert_eq!(
        not_array,
        [Problem::file("expected a JSON array of objects")]
    );
    let not_json = import::read(b"[{", Format::Json).unwrap_err();
    assert!(not_json[0].reason.starts_with("not JSON"), "{not_json:?}");
    assert_eq!(
        import::read(b"[]", Format::Json).unwrap_err(),
        [Problem::file("no users in the file")]
    );
}

#[test]
fn oversized_files_and_too_many_rows_are_refused() {
    let big = vec![b' '; import::MAX_FILE_BYTES + 1];
    for format in [Format::Csv, Format::Json] {
        let found = import::read(&big, format).unwrap_err();
        assert_eq!(found, [Problem::file("larger than 64 MiB")]);
    }
    let mut text = String::from("login,email,role,password_hash\n");
    for i in 0..=MAX_ROWS {
        text.push_str(&format!("u{i},u{i}@example.com,admin,h\n"));
    }
    assert_eq!(
        problems(&text),
        [format!("file: more than {MAX_ROWS} rows")]
    );
    let json = format!("[{}{{}}]", "{},".repeat(MAX_ROWS));
    let found = import::read(json.as_bytes(), Format::Json).unwrap_err();
    assert_eq!(found, [Problem::file(format!("more than {MAX_ROWS} rows"))]);
}

#[test]
fn long_values_are_refused() {
    let login = "l".repeat(129);
    let found = problems(&format!(
        "login,email,role,password_hash\n{login},a@example.com,{},{BCRYPT}\n",
        "r".repeat(100)
    ));
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].contains("longer than 128 characters"), "{found:?}");
    assert!(found[1].contains('…'), "a long role is cut: {found:?}");
}
