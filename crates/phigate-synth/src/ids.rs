//! Identifier formats: numbers that look and validate like the real thing.
//!
//! Detectors confirm some formats with check digits (NPI, DEA, VIN) or
//! issuance rules (SSN), so the generator produces valid ones; otherwise a
//! detector would be marked wrong for rejecting a number no real system
//! would issue. Phone numbers stay in the fictional 555-0100…0199 block.

use crate::rng::Rng;

/// A ten-digit North American phone number in the 555-01xx block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Phone {
    area: String,
    line: String,
}

impl Phone {
    /// A number in `area`.
    pub(crate) fn new(rng: &mut Rng, area: &str) -> Self {
        Self { area: area.to_owned(), line: format!("01{}", rng.digits(2, false)) }
    }

    /// FHIR `ContactPoint.value` form: `(617) 555-0142`.
    pub(crate) fn canonical(&self) -> String {
        format!("({}) 555-{}", self.area, self.line)
    }

    /// One of the shapes people write phone numbers in.
    pub(crate) fn written(&self, rng: &mut Rng) -> String {
        let (a, l) = (&self.area, &self.line);
        match rng.weighted(&[30, 25, 10, 8, 6, 5, 4]) {
            0 => format!("({a}) 555-{l}"),
            1 => format!("{a}-555-{l}"),
            2 => format!("{a}.555.{l}"),
            3 => format!("({a})555-{l}"),
            4 => format!("{a} 555 {l}"),
            5 => format!("+1 {a}-555-{l}"),
            _ => format!("1-{a}-555-{l}"),
        }
    }

    /// A written number with an extension.
    pub(crate) fn with_extension(&self, rng: &mut Rng) -> String {
        let number = self.written(rng);
        let len = rng.range_usize(3, 4);
        let ext = rng.digits(len, true);
        match rng.below(3) {
            0 => format!("{number} ext. {ext}"),
            1 => format!("{number} x{ext}"),
            _ => format!("{number}, ext {ext}"),
        }
    }
}

/// A Social Security number that follows issuance rules (area not 000, 666
/// or 900-999; group and serial not zero).
pub(crate) fn ssn(rng: &mut Rng) -> [String; 3] {
    let area = loop {
        let a = rng.range(1, 899);
        if a != 666 {
            break a;
        }
    };
    [format!("{area:03}"), format!("{:02}", rng.range(1, 99)), format!("{:04}", rng.range(1, 9999))]
}

/// An SSN in one of its written shapes.
pub(crate) fn ssn_written(parts: &[String; 3], rng: &mut Rng) -> String {
    let [a, g, s] = parts;
    match rng.weighted(&[70, 20, 10]) {
        0 => format!("{a}-{g}-{s}"),
        1 => format!("{a} {g} {s}"),
        _ => format!("{a}{g}{s}"),
    }
}

/// The Luhn check digit of `payload` (digits only).
fn luhn_check_digit(payload: &str) -> u32 {
    let mut sum = 0;
    for (i, c) in payload.bytes().rev().enumerate() {
        let mut d = u32::from(c - b'0');
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    (10 - sum % 10) % 10
}

/// A National Provider Identifier: ten digits, the last a Luhn check over
/// the prefix 80840 and the first nine.
pub(crate) fn npi(rng: &mut Rng) -> String {
    let first = if rng.chance(0.5) { "1" } else { "2" };
    let body = format!("{first}{}", rng.digits(8, false));
    let check = luhn_check_digit(&format!("80840{body}"));
    format!("{body}{check}")
}

/// A DEA registration number: a registrant letter, the first letter of the
/// surname, six digits and a check digit.
pub(crate) fn dea(rng: &mut Rng, surname: &str) -> String {
    let kind = rng.choose(&['A', 'B', 'F', 'G']);
    let initial = surname.chars().find(|c| c.is_ascii_alphabetic()).map_or('X', |c| c.to_ascii_uppercase());
    let d: Vec<u32> = (0..6).map(|_| rng.below(10) as u32).collect();
    let check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10;
    let digits: String = d.iter().map(|x| char::from(b'0' + *x as u8)).collect();
    format!("{kind}{initial}{digits}{check}")
}

/// The value of a VIN character in the check-digit sum.
fn vin_value(c: u8) -> u32 {
    match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        b'A' | b'J' => 1,
        b'B' | b'K' | b'S' => 2,
        b'C' | b'L' | b'T' => 3,
        b'D' | b'M' | b'U' => 4,
        b'E' | b'N' | b'V' => 5,
        b'F' | b'W' => 6,
        b'G' | b'P' | b'X' => 7,
        b'H' | b'Y' => 8,
        b'R' | b'Z' => 9,
        _ => 0,
    }
}

/// A 17-character vehicle identification number with a valid check digit.
pub(crate) fn vin(rng: &mut Rng) -> String {
    const WMI: [&str; 10] = ["1HG", "1FT", "2T1", "3VW", "5YJ", "JTD", "KMH", "WBA", "1G1", "4T1"];
    const ALNUM: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
    const YEAR: &[u8] = b"ABCDEFGHJKLMNPRSTVWXY123456789";
    let mut v: Vec<u8> = rng.pick(&WMI).bytes().collect();
    v.extend((0..5).map(|_| rng.choose(ALNUM)));
    v.push(b'0');
    v.push(rng.choose(YEAR));
    v.push(rng.choose(ALNUM));
    v.extend(rng.digits(6, false).bytes());
    const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    let sum: u32 = v.iter().zip(WEIGHTS).map(|(c, w)| vin_value(*c) * w).sum();
    v[8] = match sum % 11 {
        10 => b'X',
        r => b'0' + r as u8,
    };
    String::from_utf8_lossy(&v).into_owned()
}

/// A licence plate in one of several state styles.
pub(crate) fn plate(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => format!("{}{}{}", rng.range(1, 9), rng.letters(3), rng.digits(3, false)),
        1 => format!("{}-{}", rng.letters(3), rng.digits(4, false)),
        2 => format!("{} {}", rng.letters(3), rng.digits(3, false)),
        _ => format!("{}{}", rng.digits(3, true), rng.letters(3)),
    }
}

/// A medical record number (7 or 8 digits, sometimes zero-padded).
pub(crate) fn mrn(rng: &mut Rng) -> String {
    if rng.chance(0.3) {
        format!("00{}", rng.digits(6, true))
    } else {
        let len = rng.range_usize(7, 8);
        rng.digits(len, true)
    }
}

/// A health-plan member id.
pub(crate) fn member_id(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => format!("{}{}", rng.letters(3), rng.digits(9, false)),
        1 => format!("W{}", rng.digits(9, true)),
        _ => format!("{}-{}-{}", rng.letters(3), rng.digits(2, true), rng.digits(5, false)),
    }
}

/// A hospital account (billing) number.
pub(crate) fn account(rng: &mut Rng) -> String {
    rng.digits(10, true)
}

/// A device serial number and the device it belongs to.
pub(crate) fn device(rng: &mut Rng) -> (&'static str, String) {
    match rng.below(4) {
        0 => ("pacemaker", format!("{}{}{}", rng.letters(3), rng.digits(6, true), rng.letters(1))),
        1 => ("insulin pump", format!("SN-{}{}", rng.letters(2), rng.digits(7, true))),
        2 => (
            "continuous glucose monitor",
            format!("G7-{}{}-{}", rng.letters(2), rng.digits(3, true), rng.digits(4, false)),
        ),
        _ => ("implantable cardioverter-defibrillator", format!("{}{}", rng.letters(2), rng.digits(8, true))),
    }
}

/// An IPv4 address from a private or documentation range.
pub(crate) fn ip(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => format!("10.{}.{}.{}", rng.range(0, 255), rng.range(0, 255), rng.range(1, 254)),
        1 => format!("192.168.{}.{}", rng.range(0, 255), rng.range(1, 254)),
        _ => format!("{}.{}", rng.pick(&["203.0.113", "198.51.100", "192.0.2"]), rng.range(1, 254)),
    }
}

/// Lower-case ASCII for e-mail local parts and URL slugs: accents dropped,
/// apostrophes, spaces, dots and hyphens removed.
pub(crate) fn ascii_slug(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            let c = match c {
                'á' | 'à' | 'â' | 'ä' | 'å' | 'Á' | 'Å' | 'Ä' => 'a',
                'é' | 'è' | 'ê' | 'ë' | 'É' => 'e',
                'í' | 'ì' | 'î' | 'ï' | 'Í' => 'i',
                'ó' | 'ò' | 'ô' | 'ö' | 'ø' | 'Ó' | 'Ö' | 'Ø' => 'o',
                'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ü' => 'u',
                'ñ' | 'ń' | 'Ñ' => 'n',
                'ś' | 'Ś' => 's',
                'ł' | 'Ł' => 'l',
                'ć' | 'Ć' => 'c',
                'ż' | 'ź' | 'Ż' => 'z',
                c => c,
            };
            c.is_ascii_alphanumeric().then(|| c.to_ascii_lowercase())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_validate() {
        // A published example NPI.
        assert_eq!(luhn_check_digit("80840123456789"), 3);
        let mut rng = Rng::new(3);
        for _ in 0..50 {
            let n = npi(&mut rng);
            assert_eq!(n.len(), 10);
            let (body, check) = n.split_at(9);
            assert_eq!(luhn_check_digit(&format!("80840{body}")).to_string(), check);

            let v = vin(&mut rng);
            assert_eq!(v.len(), 17);
            assert!(!v.contains(['I', 'O', 'Q']));
            let sum: u32 = v
                .bytes()
                .zip([8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2])
                .map(|(c, w)| vin_value(c) * w)
                .sum();
            let want = if sum % 11 == 10 { 'X' } else { char::from(b'0' + (sum % 11) as u8) };
            assert_eq!(v.as_bytes()[8] as char, want);

            let d = dea(&mut rng, "de la Cruz");
            let x: Vec<u32> = d[2..].bytes().map(|b| u32::from(b - b'0')).collect();
            assert_eq!((x[0] + x[2] + x[4] + 2 * (x[1] + x[3] + x[5])) % 10, x[6]);
            assert_eq!(&d[1..2], "D");

            let s = ssn(&mut rng);
            assert!(s[0] != "000" && s[0] != "666" && s[0].as_str() < "900");
        }
        // The published VIN example 1M8GDM9AXKP042788 checks.
        let v = b"1M8GDM9AXKP042788";
        let sum: u32 =
            v.iter().zip([8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]).map(|(c, w)| vin_value(*c) * w).sum();
        assert_eq!(sum % 11, 10);
    }

    #[test]
    fn slugs_are_ascii() {
        assert_eq!(ascii_slug("N'Diaye"), "ndiaye");
        assert_eq!(ascii_slug("de la Cruz"), "delacruz");
        assert_eq!(ascii_slug("Søren Núñez"), "sorennunez");
    }
}
