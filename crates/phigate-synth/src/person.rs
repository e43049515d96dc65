//! Who a synthetic patient is: demographics, identifiers, the people around
//! them (a relative, clinicians) and the facilities they are seen at.

use time::Date;

use crate::data::{self, City};
use crate::dates;
use crate::ids::{self, Phone};
use crate::rng::Rng;

/// Administrative sex, which also picks pronouns and titles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sex {
    Female,
    Male,
}

impl Sex {
    /// FHIR `AdministrativeGender` code.
    pub(crate) fn fhir(self) -> &'static str {
        match self {
            Sex::Female => "female",
            Sex::Male => "male",
        }
    }
}

/// A person's name in its parts.
#[derive(Clone, Debug)]
pub(crate) struct Name {
    pub(crate) given: String,
    pub(crate) middle: Option<String>,
    pub(crate) family: String,
    pub(crate) suffix: Option<&'static str>,
}

impl Name {
    /// A random name for someone of `sex`; `family` overrides the surname
    /// (relatives often share it).
    fn random(rng: &mut Rng, sex: Sex, family: Option<&str>) -> Self {
        let given = first_name(rng, sex).to_owned();
        let family = match family {
            Some(f) => f.to_owned(),
            None => surname(rng),
        };
        Self { given, middle: None, family, suffix: None }
    }

    /// "James Okafor".
    pub(crate) fn given_family(&self) -> String {
        format!("{} {}", self.given, self.family)
    }

    /// The middle initial with a dot, if any.
    pub(crate) fn middle_initial(&self) -> Option<String> {
        self.middle.as_ref().and_then(|m| m.chars().next()).map(|c| format!("{c}."))
    }

    /// The first letter of the given name.
    pub(crate) fn given_initial(&self) -> String {
        self.given.chars().next().map(String::from).unwrap_or_default()
    }
}

fn first_name(rng: &mut Rng, sex: Sex) -> &'static str {
    let names = match sex {
        Sex::Female => data::FEMALE_FIRST,
        Sex::Male => data::MALE_FIRST,
    };
    rng.choose(names)
}

/// A surname, sometimes hyphenated from two.
fn surname(rng: &mut Rng) -> String {
    let first = rng.choose(data::SURNAMES);
    if rng.chance(0.08) && !first.contains(' ') {
        let second = rng.choose(data::SURNAMES);
        if second != first && !second.contains(' ') {
            return format!("{first}-{second}");
        }
    }
    first.to_owned()
}

/// A clinician who writes or is named in notes.
#[derive(Clone, Debug)]
pub(crate) struct Clinician {
    pub(crate) name: Name,
    /// "MD", "DO", "NP", "RN", …
    pub(crate) credential: &'static str,
    /// Specialty as written after a consultant's name, e.g. "cardiology".
    pub(crate) specialty: &'static str,
    pub(crate) npi: String,
    pub(crate) dea: String,
    pub(crate) pager: String,
}

impl Clinician {
    fn random(rng: &mut Rng, credentials: &[&'static str], specialty: &'static str) -> Self {
        let sex = if rng.chance(0.5) { Sex::Female } else { Sex::Male };
        let name = Name::random(rng, sex, None);
        let credential = rng.choose(credentials);
        let npi = ids::npi(rng);
        let dea = ids::dea(rng, &name.family);
        let pager = rng.digits(5, true);
        Self { name, credential, specialty, npi, dea, pager }
    }

    /// Physicians are "Dr."; nurses and others are not.
    pub(crate) fn is_doctor(&self) -> bool {
        matches!(self.credential, "MD" | "DO")
    }
}

/// The relative who is the patient's contact.
#[derive(Clone, Debug)]
pub(crate) struct Relative {
    pub(crate) name: Name,
    /// Relationship as written: "daughter", "husband", …
    pub(crate) role: &'static str,
    pub(crate) phone: Phone,
}

/// A facility with a name and a web slug.
#[derive(Clone, Debug)]
pub(crate) struct Facility {
    pub(crate) name: String,
    pub(crate) slug: String,
}

impl Facility {
    fn random(rng: &mut Rng, city: &City) -> Self {
        let name = if rng.chance(0.15) {
            format!("{} {}", city.name, rng.pick(&["General Hospital", "Medical Center", "Community Hospital"]))
        } else {
            format!("{} {}", rng.pick(data::HOSPITAL_STEMS), rng.pick(data::HOSPITAL_KINDS))
        };
        let stem = name.split(' ').take(2).collect::<Vec<_>>().join(" ");
        Self { slug: ids::ascii_slug(&stem), name }
    }
}

/// A home address.
#[derive(Clone, Debug)]
pub(crate) struct Address {
    /// Street line, e.g. "4417 Old Kettle Rd Apt 2B".
    pub(crate) line: String,
    pub(crate) city: &'static City,
    pub(crate) zip: String,
}

/// Everything about one synthetic patient that notes and resources draw on.
#[derive(Clone, Debug)]
pub(crate) struct Patient {
    pub(crate) id: String,
    pub(crate) sex: Sex,
    pub(crate) name: Name,
    pub(crate) birth: Date,
    pub(crate) address: Address,
    pub(crate) home_phone: Phone,
    pub(crate) cell_phone: Phone,
    pub(crate) email: String,
    pub(crate) mrn: String,
    pub(crate) ssn: [String; 3],
    pub(crate) member_id: String,
    pub(crate) account: String,
    /// v3-MaritalStatus code and display.
    pub(crate) marital: (&'static str, &'static str),
    pub(crate) relative: Relative,
    pub(crate) pcp: Clinician,
    pub(crate) attending: Clinician,
    pub(crate) consultant: Clinician,
    pub(crate) nurse: Clinician,
    pub(crate) hospital: Facility,
    pub(crate) outside_hospital: Facility,
    pub(crate) clinic_phone: Phone,
    pub(crate) clinic_fax: Phone,
    pub(crate) device: (&'static str, String),
    pub(crate) plate: String,
    pub(crate) vin: String,
    pub(crate) ip: String,
    pub(crate) portal_url: String,
}

/// Age buckets (lower bound, upper bound, weight) for adults under 90;
/// clinical populations skew old.
const AGE_BUCKETS: [(i32, i32, u32); 7] =
    [(22, 29, 5), (30, 39, 8), (40, 49, 12), (50, 59, 18), (60, 69, 22), (70, 79, 20), (80, 89, 15)];

/// Share of patients aged 90 or more (their age is PHI under Safe Harbor,
/// so the corpus needs enough of them).
const OLDEST_SHARE: f64 = 0.10;

impl Patient {
    /// Draws a patient; `reference` is the "today" of the corpus.
    pub(crate) fn random(rng: &mut Rng, reference: Date) -> Self {
        let id = rng.uuid();
        let sex = if rng.chance(0.52) { Sex::Female } else { Sex::Male };
        let mut name = Name::random(rng, sex, None);
        if rng.chance(0.45) {
            name.middle = Some(first_name(rng, sex).to_owned());
        }
        if sex == Sex::Male && rng.chance(0.05) {
            name.suffix = Some(rng.choose(&["Jr.", "Sr.", "II", "III"]));
        }
        let age = if rng.chance(OLDEST_SHARE) {
            rng.range(90, 103) as i32
        } else {
            let weights: Vec<u32> = AGE_BUCKETS.iter().map(|b| b.2).collect();
            let (lo, hi, _) = AGE_BUCKETS[rng.weighted(&weights)];
            rng.range(i64::from(lo), i64::from(hi)) as i32
        };
        let birth = loop {
            let b = dates::random_day_of_year(rng, reference.year() - age - 1);
            if dates::age_on(b, reference) == age {
                break b;
            }
            let b = dates::random_day_of_year(rng, reference.year() - age);
            if dates::age_on(b, reference) == age {
                break b;
            }
        };

        let city: &'static City = rng.pick(data::CITIES);
        let mut line =
            format!("{} {} {}", rng.range(2, 9899), rng.pick(data::STREETS), rng.pick(data::STREET_SUFFIXES));
        match rng.below(10) {
            0 => line.push_str(&format!(" Apt {}{}", rng.range(1, 12), rng.pick(&["A", "B", "C", "D"]))),
            1 => line.push_str(&format!(" Unit {}", rng.range(1, 40))),
            2 if rng.chance(0.4) => line = format!("PO Box {}", rng.range(10, 9999)),
            _ => {}
        }
        let zip = format!("{}{}", city.zip3, rng.digits(2, false));
        let address = Address { line, city, zip };

        let home_phone = Phone::new(rng, city.area);
        let cell_phone = Phone::new(rng, city.area);
        let email = email(rng, &name);
        let mrn = ids::mrn(rng);
        let ssn = ids::ssn(rng);
        let member_id = ids::member_id(rng);
        let account = ids::account(rng);
        let marital = rng.choose(&[("M", "Married"), ("S", "Never Married"), ("D", "Divorced"), ("W", "Widowed")]);
        let relative = relative(rng, sex, age, &name, marital.0, city);
        let pcp = Clinician::random(rng, &["MD", "MD", "DO", "NP"], "primary care");
        let attending = Clinician::random(rng, &["MD", "MD", "MD", "DO"], "internal medicine");
        let specialty =
            rng.choose(&["cardiology", "nephrology", "pulmonology", "endocrinology", "oncology", "geriatrics"]);
        let consultant = Clinician::random(rng, &["MD", "DO"], specialty);
        let nurse = Clinician::random(rng, &["RN", "RN", "RN", "LPN"], "nursing");
        let hospital = Facility::random(rng, city);
        let outside_hospital = loop {
            let f = Facility::random(rng, city);
            if f.name != hospital.name {
                break f;
            }
        };
        let clinic_phone = Phone::new(rng, city.area);
        let clinic_fax = Phone::new(rng, city.area);
        let device = ids::device(rng);
        let plate = ids::plate(rng);
        let vin = ids::vin(rng);
        let ip = ids::ip(rng);
        let portal_url = match rng.below(3) {
            0 => format!("https://mychart.{}.example.org/patient/{}", hospital.slug, rng.digits(7, true)),
            1 => format!("https://portal.{}-health.example.com/u/{}", hospital.slug, ids::ascii_slug(&name.family)),
            _ => format!("www.{}.example.org/records?id={}", hospital.slug, rng.digits(6, true)),
        };
        Self {
            id,
            sex,
            name,
            birth,
            address,
            home_phone,
            cell_phone,
            email,
            mrn,
            ssn,
            member_id,
            account,
            marital,
            relative,
            pcp,
            attending,
            consultant,
            nurse,
            hospital,
            outside_hospital,
            clinic_phone,
            clinic_fax,
            device,
            plate,
            vin,
            ip,
            portal_url,
        }
    }

    /// "Mr." or "Ms."/"Mrs.".
    pub(crate) fn title(&self, rng: &mut Rng) -> &'static str {
        match self.sex {
            Sex::Male => "Mr.",
            Sex::Female if self.marital.0 == "M" && rng.chance(0.5) => "Mrs.",
            Sex::Female => "Ms.",
        }
    }
}

fn email(rng: &mut Rng, name: &Name) -> String {
    let (g, f) = (ids::ascii_slug(&name.given), ids::ascii_slug(&name.family));
    let local = match rng.below(5) {
        0 => format!("{g}.{f}"),
        1 => format!("{g}{f}{}", rng.range(1, 99)),
        2 => format!("{}{f}", &g[..g.len().min(1)]),
        3 => format!("{g}_{f}{}", rng.range(40, 99)),
        _ => format!("{f}.{g}"),
    };
    format!("{local}@{}", rng.pick(data::EMAIL_DOMAINS))
}

/// The contact relative, plausible for the patient's age and marital status.
fn relative(rng: &mut Rng, sex: Sex, age: i32, patient: &Name, marital: &str, city: &City) -> Relative {
    let (role, rel_sex, shares_name) = if marital == "M" && rng.chance(0.6) {
        match sex {
            Sex::Female => ("husband", Sex::Male, rng.chance(0.8)),
            Sex::Male => ("wife", Sex::Female, rng.chance(0.8)),
        }
    } else if age >= 55 {
        rng.choose(&[
            ("daughter", Sex::Female, false),
            ("son", Sex::Male, true),
            ("daughter", Sex::Female, true),
            ("niece", Sex::Female, false),
            ("grandson", Sex::Male, true),
            ("sister", Sex::Female, false),
        ])
    } else {
        rng.choose(&[
            ("mother", Sex::Female, true),
            ("sister", Sex::Female, true),
            ("brother", Sex::Male, true),
            ("partner", if sex == Sex::Male { Sex::Female } else { Sex::Male }, false),
            ("friend", Sex::Female, false),
        ])
    };
    let name = Name::random(rng, rel_sex, shares_name.then_some(patient.family.as_str()));
    Relative { name, role, phone: Phone::new(rng, city.area) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patients_are_plausible() {
        let reference = dates::ymd(2025, 6, 30);
        let mut oldest = 0;
        for i in 0..300 {
            let mut rng = Rng::for_patient(11, i);
            let p = Patient::random(&mut rng, reference);
            let age = dates::age_on(p.birth, reference);
            assert!((22..=103).contains(&age));
            if age >= 90 {
                oldest += 1;
            }
            assert_eq!(p.address.zip.len(), 5);
            assert!(p.address.zip.starts_with(p.address.city.zip3));
            assert!(p.email.contains('@') && p.email.is_ascii());
            assert!(p.hospital.name != p.outside_hospital.name);
        }
        assert!(oldest > 10, "{oldest} patients aged 90+");
    }
}
