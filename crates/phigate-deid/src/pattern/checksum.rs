//! Check digits and issuing rules: structural evidence that a number is an
//! identifier of a given kind and not a random string of the same shape.

/// SSA rules: area 000, 666 and 900-999, group 00 and serial 0000 are never
/// issued.
pub fn ssn_ok(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != 9 {
        return false;
    }
    let area = digits[0] * 100 + digits[1] * 10 + digits[2];
    let group = digits[3] * 10 + digits[4];
    let serial = digits[5..].iter().fold(0, |a, d| a * 10 + d);
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// ISO 3779 check digit (position 9) of a 17-character VIN.
pub fn vin_ok(vin: &str) -> bool {
    const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    let b = vin.as_bytes();
    if b.len() != 17 || !b.iter().any(u8::is_ascii_alphabetic) || !b.iter().any(u8::is_ascii_digit) {
        return false;
    }
    let mut sum = 0;
    for (i, &c) in b.iter().enumerate() {
        let v = match c.to_ascii_uppercase() {
            d @ b'0'..=b'9' => u32::from(d - b'0'),
            b'A' | b'J' => 1,
            b'B' | b'K' | b'S' => 2,
            b'C' | b'L' | b'T' => 3,
            b'D' | b'M' | b'U' => 4,
            b'E' | b'N' | b'V' => 5,
            b'F' | b'W' => 6,
            b'G' | b'P' | b'X' => 7,
            b'H' | b'Y' => 8,
            b'R' | b'Z' => 9,
            _ => return false,
        };
        sum += v * WEIGHTS[i];
    }
    let check = sum % 11;
    let expected = if check == 10 { b'X' } else { b'0' + check as u8 };
    b[8].to_ascii_uppercase() == expected
}

/// Luhn checksum over the digits of `s` (non-digits ignored).
pub fn luhn_ok(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() < 2 {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A 10-digit NPI is valid when Luhn holds over the number prefixed by the
/// health-industry issuer code 80840.
pub fn npi_ok(s: &str) -> bool {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    digits.len() == 10 && luhn_ok(&format!("80840{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums() {
        assert!(vin_ok("1HGCM82633A004352"));
        assert!(!vin_ok("1HGCM82643A004352"));
        assert!(npi_ok("1234567893"));
        assert!(!npi_ok("1234567890"));
        assert!(luhn_ok("79927398713"));
        assert!(ssn_ok("402-19-8877"));
        assert!(!ssn_ok("666-19-8877") && !ssn_ok("402-00-8877") && !ssn_ok("950-19-8877"));
    }
}
