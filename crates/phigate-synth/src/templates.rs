//! Note templates: three styles of clinical note written from a
//! [`Record`], full of identifiers and of the clinical text around them
//! that must **not** be taken for identifiers (hard negatives: eponyms such
//! as Foley, Parkinson, Apgar and Gram; drug names and doses; lab values and
//! vital signs; ICD-10 codes; bare years; ages under 90).
//!
//! Templates are plain strings with `{key}` placeholders; [`NoteContext`]
//! fills each key with plain text or an identifier. Every placement of an
//! identifier goes through [`crate::note::NoteBuilder`], so gold spans are
//! exact by construction.

use time::Date;

use crate::clinical::{Cond, Value};
use crate::data::HARD_NEGATIVE_WORDS;
use crate::dates::{self, DateStyle};
use crate::gold::{NoteType, PhiType};
use crate::ids;
use crate::note::{Fill, NoteBuilder, Piece, phi, plain};
use crate::person::{Clinician, Sex};
use crate::record::{Class, Encounter, Record};
use crate::rng::Rng;

/// Fills placeholders for one note about one encounter.
pub(crate) struct NoteContext<'a> {
    rec: &'a Record,
    enc: &'a Encounter,
    rng: &'a mut Rng,
    /// The day the note is written.
    note_date: Date,
    /// An earlier visit.
    prior: Date,
    /// The follow-up appointment.
    next: Date,
    /// A day inside the stay.
    mid: Date,
}

impl<'a> NoteContext<'a> {
    pub(crate) fn new(rec: &'a Record, index: usize, rng: &'a mut Rng) -> Option<Self> {
        let enc = rec.encounters.get(index)?;
        let prior = match index.checked_sub(1).and_then(|i| rec.encounters.get(i)) {
            Some(e) => e.start,
            None => dates::add_days(enc.start, -rng.range(40, 400)),
        };
        let next = dates::add_days(enc.end, rng.range(7, 90));
        let stay = (enc.end - enc.start).whole_days().max(0);
        let mid = dates::add_days(enc.start, rng.range(0, stay));
        let note_date = match enc.note {
            Some(NoteType::DischargeSummary) => enc.end,
            Some(NoteType::NursingNote) => mid,
            _ => enc.start,
        };
        Some(Self { rec, enc, rng, note_date, prior, next, mid })
    }

    fn female(&self) -> bool {
        self.rec.patient.sex == Sex::Female
    }

    fn date(&mut self, d: Date) -> Vec<Piece> {
        let style = DateStyle::any(self.rng);
        vec![phi(PhiType::Date, dates::format(d, style))]
    }

    fn date_with_year(&mut self, d: Date) -> Vec<Piece> {
        let style = DateStyle::with_year(self.rng);
        vec![phi(PhiType::Date, dates::format(d, style))]
    }

    /// The patient's name written out in full, in one of its shapes.
    fn patient_full(&mut self) -> Vec<Piece> {
        let n = &self.rec.patient.name;
        let mi = n.middle_initial();
        let text = match self.rng.weighted(&[30, 15, 10, 10, 10, 6, 5]) {
            0 => n.given_family(),
            1 if mi.is_some() => format!("{} {} {}", n.given, mi.unwrap_or_default(), n.family),
            2 => format!("{}, {}", n.family.to_uppercase(), n.given.to_uppercase()),
            3 => format!("{}, {}", n.family, n.given),
            4 => format!("{}. {}", n.given_initial(), n.family),
            5 if n.middle.is_some() => format!("{} {} {}", n.given, n.middle.clone().unwrap_or_default(), n.family),
            _ => n.given_family(),
        };
        let text = match n.suffix {
            Some(s) if !text.contains(',') => format!("{text} {s}"),
            _ => text,
        };
        vec![phi(PhiType::PatientName, text)]
    }

    /// The name as a header or label writes it.
    fn patient_header(&mut self) -> Vec<Piece> {
        let n = &self.rec.patient.name;
        let text = match self.rng.below(4) {
            0 => {
                let mi = n.middle.as_ref().and_then(|m| m.chars().next()).map(|c| format!(" {c}")).unwrap_or_default();
                format!("{}, {}{}", n.family.to_uppercase(), n.given.to_uppercase(), mi.to_uppercase())
            }
            1 => format!("{}, {}", n.family, n.given),
            2 => n.given_family(),
            _ => format!("{}, {} {}", n.family, n.given, n.middle_initial().unwrap_or_default()).trim_end().to_owned(),
        };
        vec![phi(PhiType::PatientName, text)]
    }

    /// How narrative refers to the patient; sometimes with no name at all.
    fn patient_ref(&mut self, capital: bool) -> Vec<Piece> {
        let title = self.rec.patient.title(self.rng);
        let n = &self.rec.patient.name;
        match self.rng.weighted(&[40, 12, 10, 14, 6, 6]) {
            0 => vec![plain(format!("{title} ")), phi(PhiType::PatientName, n.family.clone())],
            1 => vec![phi(PhiType::PatientName, n.given.clone())],
            2 => vec![phi(PhiType::PatientName, n.given_family())],
            3 => vec![plain(if capital { "The patient" } else { "the patient" })],
            4 => vec![plain(if capital { "Pt" } else { "pt" })],
            _ => vec![plain(format!("{title} ")), phi(PhiType::PatientName, n.given_family())],
        }
    }

    /// "Dr. Raman", "Dr. Priya Raman" or, for non-physicians, the name and
    /// credential.
    fn clinician_ref(&mut self, c: &Clinician) -> Vec<Piece> {
        if !c.is_doctor() {
            return vec![phi(PhiType::ClinicianName, c.name.given_family()), plain(format!(", {}", c.credential))];
        }
        let dr = self.rng.choose(&["Dr. ", "Dr. ", "Dr ", "Dr. "]);
        let name = if self.rng.chance(0.6) { c.name.family.clone() } else { c.name.given_family() };
        vec![plain(dr), phi(PhiType::ClinicianName, name)]
    }

    /// A signature-style name: "Priya Raman", "P. Raman" or "Raman, Priya".
    fn signature(&mut self, c: &Clinician) -> Vec<Piece> {
        let n = &c.name;
        let text = match self.rng.below(3) {
            0 => n.given_family(),
            1 => format!("{}. {}", n.given_initial(), n.family),
            _ => format!("{}, {}", n.family, n.given),
        };
        vec![phi(PhiType::ClinicianName, text)]
    }

    fn relative(&mut self) -> Vec<Piece> {
        let r = &self.rec.patient.relative;
        match self.rng.below(4) {
            0 => vec![plain(format!("{} ", r.role)), phi(PhiType::RelativeName, r.name.given.clone())],
            1 => vec![plain(format!("{}, ", r.role)), phi(PhiType::RelativeName, r.name.given_family()), plain(",")],
            2 => vec![plain(format!("{} ", r.role)), phi(PhiType::RelativeName, r.name.given_family())],
            _ => vec![plain(format!("{} (", r.role)), phi(PhiType::RelativeName, r.name.given.clone()), plain(")")],
        }
    }

    /// "a 72" or "an 86": the article and the age.
    fn article_age(&self) -> Vec<Piece> {
        let age = self.rec.age_on(self.enc.start);
        let an = age.to_string().starts_with('8') || age == 11 || age == 18;
        let mut out = vec![plain(if an { "an " } else { "a " })];
        out.extend(self.age());
        out
    }

    fn age(&self) -> Vec<Piece> {
        let age = self.rec.age_on(self.enc.start);
        // Safe Harbor: only ages over 89 are identifiers.
        if age > 89 { vec![phi(PhiType::Age, age.to_string())] } else { vec![plain(age.to_string())] }
    }

    fn conditions_text(&self, skip: usize) -> String {
        let names: Vec<&str> = self.rec.clinical.conditions.iter().skip(skip).map(|c| c.text).collect();
        match names.len() {
            0 => "no other chronic conditions".to_owned(),
            1 => names[0].to_owned(),
            n => format!("{} and {}", names[..n - 1].join(", "), names[n - 1]),
        }
    }

    fn medication(&mut self) -> String {
        let rx = &self.rec.clinical.prescriptions;
        if rx.is_empty() {
            return "acetaminophen 500 mg as needed".to_owned();
        }
        let brand = self.rng.chance(0.3);
        self.rng.pick(rx).name_dose(brand)
    }

    fn medication_list(&mut self, terse: bool) -> String {
        let rx = &self.rec.clinical.prescriptions;
        if rx.is_empty() {
            return "  None.\n".to_owned();
        }
        let mut out = String::new();
        for (i, p) in rx.iter().enumerate() {
            if terse {
                let route = if p.drug.sig.contains("inhaled") {
                    "INH"
                } else if p.drug.sig.contains("subcut") {
                    "SC"
                } else {
                    "PO"
                };
                out.push_str(&format!("  - {} {route} {}\n", p.name_dose(false), p.drug.abbrev));
            } else {
                out.push_str(&format!("  {}. {}\n", i + 1, p.instruction()));
            }
        }
        out
    }

    fn vitals(&mut self, terse: bool) -> String {
        let v = &self.enc.vitals;
        let get = |code: &str| v.iter().find(|x| x.measure.loinc == code).map(Value::formatted).unwrap_or_default();
        let temp = format!("{:.1}", self.rng.uniform(36.4, 37.6));
        let rr = self.rng.range(12, 20);
        if terse {
            format!(
                "T {temp} BP {}/{} HR {} RR {rr} SpO2 {}% RA",
                get("8480-6"),
                get("8462-4"),
                get("8867-4"),
                get("59408-5")
            )
        } else {
            format!(
                "BP {}/{} mmHg, HR {}, RR {rr}, T {temp} C, SpO2 {}% on room air, weight {} kg",
                get("8480-6"),
                get("8462-4"),
                get("8867-4"),
                get("59408-5"),
                get("29463-7")
            )
        }
    }

    fn labs(&self) -> String {
        if self.enc.labs.is_empty() {
            return "none drawn at this visit".to_owned();
        }
        self.enc.labs.iter().map(Value::written).collect::<Vec<_>>().join(", ")
    }

    fn lab(&self, loinc: &str) -> Option<&Value> {
        self.enc.labs.iter().find(|v| v.measure.loinc == loinc)
    }

    /// The numbered assessment and plan, one item per condition.
    fn plan(&mut self) -> String {
        let mut out = String::new();
        let conditions = self.rec.clinical.conditions.clone();
        for (i, c) in conditions.iter().enumerate() {
            let meds: Vec<String> = self
                .rec
                .clinical
                .prescriptions
                .iter()
                .filter(|p| p.for_condition == i)
                .map(|p| p.instruction())
                .collect();
            let mut item = format!("{}. {} ({}): ", i + 1, capitalise(c.text), c.icd10);
            let detail = match c.cond {
                Cond::Diabetes => self.lab("4548-4").map(|v| format!("HbA1c {}%, goal under 7%. ", v.formatted())),
                Cond::Ckd => self.lab("98979-8").map(|v| {
                    format!(
                        "eGFR {} with Cr {}; avoid NSAIDs. ",
                        v.formatted(),
                        self.lab("2160-0").map(Value::formatted).unwrap_or_default()
                    )
                }),
                Cond::Hyperlipidemia | Cond::Cad => {
                    self.lab("13457-7").map(|v| format!("LDL {} mg/dL. ", v.formatted()))
                }
                Cond::HeartFailure => Some("Euvolemic on exam; daily weights, 2 g sodium diet. ".to_owned()),
                Cond::Hypertension => Some(format!("BP {} today. ", self.bp())),
                Cond::Copd => Some("No exacerbation since last visit; pulmonary rehab referral placed. ".to_owned()),
                Cond::Hypothyroidism => {
                    self.lab("3016-3").map(|v| format!("TSH {}; Hashimoto thyroiditis by history. ", v.formatted()))
                }
                Cond::Depression | Cond::Anxiety => Some(format!("PHQ-9 score {} today. ", self.rng.range(3, 16))),
                Cond::Alzheimer => Some("MoCA 17/30; supervision for medications. ".to_owned()),
                _ => None,
            };
            item.push_str(&detail.unwrap_or_default());
            if meds.is_empty() {
                item.push_str("Lifestyle measures discussed.\n");
            } else {
                item.push_str(&format!("Continue {}.\n", meds.join("; ")));
            }
            out.push_str(&item);
        }
        out
    }

    fn bp(&self) -> String {
        let v = &self.enc.vitals;
        let get = |code: &str| v.iter().find(|x| x.measure.loinc == code).map(Value::formatted).unwrap_or_default();
        format!("{}/{}", get("8480-6"), get("8462-4"))
    }

    fn phone(&mut self, kind: PhiType, number: &ids::Phone, extension: bool) -> Vec<Piece> {
        let text = if extension { number.with_extension(self.rng) } else { number.written(self.rng) };
        vec![phi(kind, text)]
    }

    fn address(&mut self) -> Vec<Piece> {
        let a = &self.rec.patient.address;
        let mut out = vec![phi(PhiType::Address, a.line.clone()), plain(", "), phi(PhiType::Location, a.city.name)];
        out.push(plain(format!(", {} ", a.city.state)));
        out.push(phi(PhiType::Zip, a.zip.clone()));
        out
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

impl<'a> Fill for NoteContext<'a> {
    fn fill(&mut self, key: &str) -> Option<Vec<Piece>> {
        // Copy the shared reference out so `p` borrows the record, not `self`.
        let rec: &'a Record = self.rec;
        let p = &rec.patient;
        let female = self.female();
        let one = |kind: PhiType, s: &str| Some(vec![phi(kind, s)]);
        let text = |s: &str| Some(vec![plain(s)]);
        match key {
            "pt" => Some(self.patient_full()),
            "pt_header" => Some(self.patient_header()),
            "pt_ref" => Some(self.patient_ref(false)),
            "Pt_ref" => Some(self.patient_ref(true)),
            "pt_first" => one(PhiType::PatientName, &p.name.given),
            "pt_title" => {
                let title = p.title(self.rng);
                Some(vec![plain(format!("{title} ")), phi(PhiType::PatientName, p.name.family.clone())])
            }
            "he" => text(if female { "she" } else { "he" }),
            "He" => text(if female { "She" } else { "He" }),
            "his" => text(if female { "her" } else { "his" }),
            "His" => text(if female { "Her" } else { "His" }),
            "him" => text(if female { "her" } else { "him" }),
            "man" => text(if female { "woman" } else { "man" }),
            "age" => Some(self.age()),
            "a_age" => Some(self.article_age()),
            "dob" => Some(self.date_with_year(p.birth)),
            "visit" | "admit" => Some(self.date(self.enc.start)),
            "visit_full" | "admit_full" => Some(self.date_with_year(self.enc.start)),
            "discharge" => Some(self.date(self.enc.end)),
            "discharge_full" => Some(self.date_with_year(self.enc.end)),
            "note_date" => Some(self.date_with_year(self.note_date)),
            "mid" => Some(self.date(self.mid)),
            "prior" => Some(self.date(self.prior)),
            "next" => Some(self.date(self.next)),
            "onset" => {
                let onset = self.rec.onsets.first().copied().unwrap_or(self.prior);
                Some(vec![phi(PhiType::Date, dates::format(onset, DateStyle::MonthYear))])
            }
            "stay" => {
                let style = DateStyle::any(self.rng);
                let sep = self.rng.choose(&[" - ", "-", " to ", " through "]);
                Some(vec![
                    phi(PhiType::Date, dates::format(self.enc.start, style)),
                    plain(sep),
                    phi(PhiType::Date, dates::format(self.enc.end, style)),
                ])
            }
            // A bare year is not an identifier under Safe Harbor: plain text.
            "onset_year" => text(&self.rec.onsets.first().map_or(2015, |d| d.year()).to_string()),
            "quit_year" => {
                let y = self.enc.start.year() - self.rng.range(2, 15) as i32;
                text(&y.to_string())
            }
            "mrn" => one(PhiType::Mrn, &p.mrn),
            "ssn" => {
                let s = ids::ssn_written(&p.ssn, self.rng);
                one(PhiType::Ssn, &s)
            }
            "member" => one(PhiType::HealthPlan, &p.member_id),
            "acct" => one(PhiType::Account, &p.account),
            "npi" => one(PhiType::License, &p.attending.npi),
            "dea" => one(PhiType::License, &p.attending.dea),
            "device" => one(PhiType::Device, &p.device.1),
            "device_kind" => text(p.device.0),
            "url" => one(PhiType::Url, &p.portal_url),
            "ip" => one(PhiType::Ip, &p.ip),
            "plate" => one(PhiType::Vehicle, &p.plate),
            "vin" => one(PhiType::Vehicle, &p.vin),
            "email" => one(PhiType::Email, &p.email),
            "phone" => {
                let number = if self.rng.chance(0.5) { &p.home_phone } else { &p.cell_phone };
                Some(self.phone(PhiType::Phone, number, false))
            }
            "rel_phone" => Some(self.phone(PhiType::Phone, &p.relative.phone, false)),
            "clinic_phone" => {
                let ext = self.rng.chance(0.5);
                Some(self.phone(PhiType::Phone, &p.clinic_phone, ext))
            }
            "fax" => Some(self.phone(PhiType::Fax, &p.clinic_fax, false)),
            "pager" => one(PhiType::Phone, &p.consultant.pager),
            "street" => one(PhiType::Address, &p.address.line),
            "city" => one(PhiType::Location, p.address.city.name),
            "state" => text(p.address.city.state),
            "zip" => one(PhiType::Zip, &p.address.zip),
            "addr" => Some(self.address()),
            "hospital" => one(PhiType::Location, &p.hospital.name),
            "outside" => one(PhiType::Location, &p.outside_hospital.name),
            "dr" => Some(self.clinician_ref(&p.attending)),
            "dr_full" => one(PhiType::ClinicianName, &p.attending.name.given_family()),
            "dr_sig" => Some(self.signature(&p.attending)),
            "dr_cred" => text(p.attending.credential),
            "consult" => Some(self.clinician_ref(&p.consultant)),
            "consult_spec" => text(p.consultant.specialty),
            "pcp" => Some(self.clinician_ref(&p.pcp)),
            "pcp_full" => {
                let c = &p.pcp;
                Some(vec![phi(PhiType::ClinicianName, c.name.given_family()), plain(format!(", {}", c.credential))])
            }
            "rn" => one(PhiType::ClinicianName, &p.nurse.name.given_family()),
            "rn_first" => one(PhiType::ClinicianName, &p.nurse.name.given),
            "rn_sig" => Some(self.signature(&p.nurse)),
            "rn_cred" => text(p.nurse.credential),
            "rel" => Some(self.relative()),
            "rel_name" => {
                let n = &p.relative.name;
                let s = if self.rng.chance(0.5) { n.given.clone() } else { n.given_family() };
                Some(vec![phi(PhiType::RelativeName, s)])
            }
            "rel_first" => one(PhiType::RelativeName, &p.relative.name.given),
            "rel_role" => text(p.relative.role),
            "cond" => text(self.rec.clinical.conditions.first().map_or("follow-up", |c| c.text)),
            "cond_abbrev" => text(self.rec.clinical.conditions.first().map_or("f/u", |c| c.abbrev)),
            "conds" => text(&self.conditions_text(0)),
            "conds_rest" => text(&self.conditions_text(1)),
            "icd" => text(self.rec.clinical.conditions.first().map_or("Z09", |c| c.icd10)),
            "complaint" => text(self.rec.clinical.conditions.first().map_or("chest pain", |c| c.complaint)),
            "med" => text(&self.medication()),
            "med_list" => text(&self.medication_list(false)),
            "med_list_terse" => text(&self.medication_list(true)),
            "plan" => text(&self.plan()),
            "vitals" => text(&self.vitals(false)),
            "vitals_terse" => text(&self.vitals(true)),
            "labs" => text(&self.labs()),
            "conclusion" => text(&crate::fhir::conclusion(&self.enc.labs)),
            "bp" => text(&self.bp()),
            "hr" => text(
                &self.enc.vitals.iter().find(|v| v.measure.loinc == "8867-4").map(Value::formatted).unwrap_or_default(),
            ),
            "spo2" => text(
                &self
                    .enc
                    .vitals
                    .iter()
                    .find(|v| v.measure.loinc == "59408-5")
                    .map(Value::formatted)
                    .unwrap_or_default(),
            ),
            "cr" => text(&self.lab("2160-0").map_or("1.1".to_owned(), Value::formatted)),
            "glucose" => {
                let (lo, hi) = if rec.clinical.has(Cond::Diabetes) { (112, 260) } else { (84, 126) };
                text(&self.rng.range(lo, hi).to_string())
            }
            "eponym" => text(&eponym_sentence(self.rng)),
            "hospital_day" => text(&((self.note_date - self.enc.start).whole_days() + 1).to_string()),
            _ => None,
        }
    }
}

/// A sentence built around clinical eponyms (hard negatives).
fn eponym_sentence(rng: &mut Rng) -> String {
    let s = rng.choose(&[
        "Babinski sign absent bilaterally; Romberg negative.",
        "Murphy sign negative. Homans sign negative.",
        "Tinel and Phalen tests negative at both wrists.",
        "No Kussmaul respirations. Glasgow Coma Scale 15.",
        "No cushingoid features. No signs of Addison disease.",
        "Remote history of Bell palsy, resolved.",
        "Sputum Gram stain with rare gram-positive cocci.",
    ]);
    debug_assert!(HARD_NEGATIVE_WORDS.iter().any(|w| s.contains(w)));
    s.to_owned()
}

/// Family history line: relationship words next to eponyms, a classic trap
/// for relative-name rules.
const FAMILY_HISTORY: &[&str] = &[
    "Family history: father with Parkinson disease, mother with Alzheimer dementia.\n",
    "FH: brother treated for Hodgkin lymphoma in {onset_year}; mother with Graves disease.\n",
    "Family history notable for Crohn disease in a sister and Parkinson disease in the paternal grandfather.\n",
    "Family history: mother with Hashimoto thyroiditis, father died at 71 of a myocardial infarction.\n",
];

const PROGRESS_HEADERS: &[&str] = &[
    "{hospital} - Internal Medicine Clinic\nPROGRESS NOTE\n\nPatient: {pt_header}    DOB: {dob}    MRN: {mrn}\nDate of service: {visit_full}\nProvider: {dr_full}, {dr_cred}\n\n",
    "OUTPATIENT FOLLOW-UP NOTE\nName: {pt_header}\nMRN: {mrn}    Acct #: {acct}\nVisit date: {visit_full}\nLocation: {hospital}\n\n",
    "Clinic note, {visit_full}\n{pt_header} (DOB {dob}; MRN {mrn})\nSeen at {hospital} by {dr}\n\n",
];

const PROGRESS_INTROS: &[&str] = &[
    "{Pt_ref} is {a_age}-year-old {man} with {conds} who presents for follow-up of {cond}.",
    "{pt} is {a_age} yo {man} with a history of {conds}, here today for routine follow-up.",
    "{age} y/o {man} with PMH of {conds}, last seen by {pcp} on {prior}.",
    "{Pt_ref}, age {age}, returns to clinic for {cond} ({icd}); {he} was last seen here on {prior}.",
];

const PROGRESS_HISTORY: &[&str] = &[
    " {He} reports taking {med} as prescribed and denies chest pain or shortness of breath.",
    " {He} was diagnosed with {cond} in {onset_year} and has been followed in this clinic since.",
    " Symptoms began in {onset}.",
    " Since the visit on {prior}, {he} was seen in the emergency department at {outside} for {complaint}.",
    " {He} lives with {his} {rel} in {city} and remains independent in ADLs.",
    " {His} {rel_role} {rel_first} accompanies {him} today and helps with {his} medications.",
    " Home readings have ranged from 110 to 180 per {his} log.",
    " {He} checks {his} blood pressure at home, usually 130s/80s.",
    " {He} quit smoking in {quit_year} after a 30 pack-year history.",
    " {He} was recently seen by {consult} ({consult_spec}) who recommended no changes.",
];

const PROGRESS_FOLLOW_UP: &[&str] = &[
    "Return to clinic in 3 months, on or about {next}. Call {clinic_phone} with questions.\n",
    "Follow-up with {pcp} on {next}. {He} prefers contact by e-mail at {email} or by phone at {phone}.\n",
    "Portal messages may be sent via {url}. Next appointment {next}.\n",
    "Insurance verified, member ID {member}. Lab orders faxed to {fax}.\n",
    "RTC {next}. Best number for {pt_first}: {phone}.\n",
];

const PROGRESS_SIGNATURES: &[&str] = &[
    "\nElectronically signed by {dr_full}, {dr_cred} (NPI {npi}) on {note_date}\n",
    "\n{dr_sig}, {dr_cred}\n{hospital} Internal Medicine\n",
    "\nDictated but not read. {dr_full}, {dr_cred}\ncc: {pcp_full}\n",
];

const DISCHARGE_HEADERS: &[&str] = &[
    "DISCHARGE SUMMARY\n{hospital}\n\nPatient name: {pt_header}\nMRN: {mrn}      Account #: {acct}\nDOB: {dob}     Age: {age}\nAdmission date: {admit_full}\nDischarge date: {discharge_full}\nAttending physician: {dr}\nPrimary care: {pcp}\n\n",
    "{hospital}\nDischarge Summary for {pt_header}, MRN {mrn}\nDates of stay: {stay}\nAttending: {dr}\n\n",
    "DISCHARGE SUMMARY - {pt_header}\nMR#: {mrn}   Acct: {acct}   Adm: {admit_full}   D/C: {discharge_full}\n\n",
];

const DISCHARGE_HPI: &[&str] = &[
    "HISTORY OF PRESENT ILLNESS:\n{Pt_ref} is {a_age}-year-old {man} with {conds} who presented to the {hospital} emergency department on {admit} with {complaint}.",
    "HISTORY OF PRESENT ILLNESS:\n{pt} is {a_age} y/o {man} with {conds} admitted {admit} for {complaint}.",
];

const DISCHARGE_HPI_MORE: &[&str] = &[
    " {He} was transferred from {outside} for a higher level of care.",
    " Collateral history was obtained from {his} {rel}, reachable at {rel_phone}.",
    " Home medications were confirmed with {his} pharmacy and {his} {rel_role}.",
    " {He} lives at home in {city} with {his} {rel_role}.",
];

const COURSE_CHF: &str = "Diuresed with IV furosemide 40 mg twice daily with net negative 4.2 L. A Foley catheter was placed for strict intake and output and removed on {mid}. BNP on admission was well above the reference range.";
const COURSE_COPD: &str = "Treated with nebulized albuterol and ipratropium, prednisone 40 mg daily for 5 days and azithromycin. Sputum Gram stain showed moderate neutrophils and no organisms.";
const COURSE_GENERIC: &str = "Blood cultures were drawn on {admit} and remained negative; urine Gram stain was unremarkable. A Foley catheter was not required.";

const DISCHARGE_COURSE_MORE: &[&str] = &[
    " {consult} ({consult_spec}) was consulted on {mid} and followed {him} daily; creatinine {cr} at discharge.",
    " Seen by {consult} ({consult_spec}), who recommended continuing {med}.",
    " Interrogation of {his} {device_kind} (serial {device}) showed normal function.",
    " Physical therapy evaluated {him} on {mid} and cleared {him} for discharge home.",
    " Labs on the day of discharge: {labs}.",
];

const DISCHARGE_DISPOSITION: &[&str] = &[
    "DISPOSITION: Discharged home with {his} {rel} ({rel_phone}). Home address confirmed as {addr}.\n",
    "DISPOSITION: Discharged to {outside} for short-term rehabilitation. Family contact: {his} {rel}, {rel_phone}.\n",
    "DISPOSITION: Home with services. Address on file: {street}, {city}, {state} {zip}.\n",
];

const DISCHARGE_FOLLOW_UP: &[&str] = &[
    "FOLLOW-UP: {pcp} on {next}; office phone {clinic_phone}, fax {fax}.\n",
    "FOLLOW-UP: Appointment with {consult} on {next}. Questions: {clinic_phone}.\n",
];

const DISCHARGE_ADMIN: &[&str] = &[
    "Registration: SSN {ssn}; insurance member ID {member}; e-mail on file {email}.\n",
    "Patient portal enrollment completed from IP address {ip}; portal link {url}.\n",
    "Security note: {his} {rel_role}'s vehicle (plate {plate}) was moved from the ambulance bay on {mid}.\n",
    "Valuables: car keys for vehicle VIN {vin} released to {his} {rel_role} {rel_first}.\n",
];

const DISCHARGE_SIGNATURES: &[&str] = &[
    "\nDictated by {dr_full}, {dr_cred}, on {discharge_full}. Transcribed by {rn_sig}.\n",
    "\n{dr_full}, {dr_cred}\nAttending Physician\nNPI {npi}   DEA {dea}\n",
    "\nElectronically signed: {dr_sig}, {dr_cred} {note_date}\ncc: {pcp_full}; {consult}\n",
];

const NURSING_HEADERS: &[&str] = &[
    "NURSING NOTE {note_date} 0700-1900\n",
    "Nursing Progress Note - {note_date}\nPt: {pt_header}  MRN {mrn}\n",
    "RN shift note {note_date} 1900-0700:\n",
];

const NURSING_LINES: &[&str] = &[
    "NEURO: A&Ox3, follows commands, GCS 15. MAE x4.\n",
    "CV: HR {hr} NSR, BP {bp}. No edema. {eponym}\n",
    "RESP: SpO2 {spo2}% on 2L NC. Lungs with scattered crackles at bases.\n",
    "GU: Foley catheter draining clear yellow urine, UO 60-80 cc/hr.\n",
    "GI: Tolerating cardiac diet. BS x4. Last BM {prior}.\n",
    "ENDO: FSBG {glucose} at 1100.\n",
    "SKIN: Braden 16, heels offloaded, coccyx intact.\n",
    "SOCIAL: {rel_role} {rel_first} called at 1400 and was updated; call back # {rel_phone}.\n",
    "SOCIAL: {His} {rel} visited this afternoon, plans to take {him} home to {city}.\n",
    "{consult} paged re: low UO via pager {pager}; new orders received.\n",
    "HCP is {his} {rel_role}, {rel_name}, cell {rel_phone}.\n",
    "{device_kind} in place, serial {device}; site clean and dry.\n",
];

const NURSING_SIGNATURES: &[&str] = &[
    "{rn}, {rn_cred}\n",
    "-- {rn_sig} {rn_cred}\n",
    "Signed: {rn}, {rn_cred} {note_date}\n",
    "{rn_first} {rn_cred}\n",
];

/// Writes the note of `style` for the encounter in `ctx`.
pub(crate) fn write(style: NoteType, ctx: &mut NoteContext<'_>) -> (String, Vec<crate::gold::GoldSpan>) {
    match style {
        NoteType::ProgressNote => progress(ctx),
        NoteType::DischargeSummary => discharge(ctx),
        NoteType::NursingNote => nursing(ctx),
    }
}

/// Renders `k` distinct templates from `from`, in their listed order.
fn some(b: &mut NoteBuilder, ctx: &mut NoteContext<'_>, from: &[&str], k: usize) {
    let mut chosen: Vec<usize> = (0..from.len()).collect();
    while chosen.len() > k {
        let drop = ctx.rng.below(chosen.len() as u64) as usize;
        chosen.remove(drop);
    }
    for i in chosen {
        b.render(from[i], ctx);
    }
}

fn one(b: &mut NoteBuilder, ctx: &mut NoteContext<'_>, from: &[&str]) {
    let t = ctx.rng.choose(from);
    b.render(t, ctx);
}

fn progress(ctx: &mut NoteContext<'_>) -> (String, Vec<crate::gold::GoldSpan>) {
    let mut b = NoteBuilder::new(false);
    one(&mut b, ctx, PROGRESS_HEADERS);
    if ctx.enc.class == Class::Emergency {
        b.render("Seen in the emergency department for {complaint}.\n\n", ctx);
    }
    b.render("SUBJECTIVE:\n", ctx);
    one(&mut b, ctx, PROGRESS_INTROS);
    let k = ctx.rng.range_usize(2, 4);
    some(&mut b, ctx, PROGRESS_HISTORY, k);
    b.render("\n", ctx);
    if ctx.rng.chance(0.5) {
        one(&mut b, ctx, FAMILY_HISTORY);
    }
    if ctx.female() && ctx.rng.chance(0.3) {
        b.render("OB history: G2P2, both infants with Apgar scores of 8 and 9.\n", ctx);
    }
    b.render(
        "\nOBJECTIVE:\nVitals: {vitals}\nLabs: {labs}\nExam: Alert and oriented, no distress. Lungs clear. {eponym}\n",
        ctx,
    );
    b.render("\nASSESSMENT AND PLAN:\n{plan}\n", ctx);
    let k = ctx.rng.range_usize(1, 3);
    some(&mut b, ctx, PROGRESS_FOLLOW_UP, k);
    one(&mut b, ctx, PROGRESS_SIGNATURES);
    b.finish()
}

fn discharge(ctx: &mut NoteContext<'_>) -> (String, Vec<crate::gold::GoldSpan>) {
    let mut b = NoteBuilder::new(false);
    one(&mut b, ctx, DISCHARGE_HEADERS);
    b.render("PRINCIPAL DIAGNOSIS: {cond} ({icd})\nSECONDARY DIAGNOSES: {conds_rest}\n\n", ctx);
    one(&mut b, ctx, DISCHARGE_HPI);
    let k = ctx.rng.range_usize(1, 2);
    some(&mut b, ctx, DISCHARGE_HPI_MORE, k);
    b.render("\n\nHOSPITAL COURSE:\n", ctx);
    let course = if ctx.rec.clinical.has(Cond::HeartFailure) {
        COURSE_CHF
    } else if ctx.rec.clinical.has(Cond::Copd) {
        COURSE_COPD
    } else {
        COURSE_GENERIC
    };
    b.render(course, ctx);
    let k = ctx.rng.range_usize(1, 3);
    some(&mut b, ctx, DISCHARGE_COURSE_MORE, k);
    b.render("\n\nDISCHARGE MEDICATIONS:\n{med_list}\n", ctx);
    one(&mut b, ctx, DISCHARGE_DISPOSITION);
    one(&mut b, ctx, DISCHARGE_FOLLOW_UP);
    let k = ctx.rng.range_usize(1, 2);
    some(&mut b, ctx, DISCHARGE_ADMIN, k);
    one(&mut b, ctx, DISCHARGE_SIGNATURES);
    b.finish()
}

fn nursing(ctx: &mut NoteContext<'_>) -> (String, Vec<crate::gold::GoldSpan>) {
    let upper = ctx.rng.chance(0.3);
    let mut b = NoteBuilder::new(upper);
    one(&mut b, ctx, NURSING_HEADERS);
    b.render("Pt is {a_age} yo {man} admitted {admit} with {cond_abbrev}, hospital day {hospital_day}.\n", ctx);
    let k = ctx.rng.range_usize(4, 7);
    some(&mut b, ctx, NURSING_LINES, k);
    b.render("MEDS: {med_list_terse}", ctx);
    one(&mut b, ctx, NURSING_SIGNATURES);
    b.finish()
}

/// Every template, for the tests that render them all.
#[cfg(test)]
pub(crate) fn all_templates() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = Vec::new();
    for list in [
        FAMILY_HISTORY,
        PROGRESS_HEADERS,
        PROGRESS_INTROS,
        PROGRESS_HISTORY,
        PROGRESS_FOLLOW_UP,
        PROGRESS_SIGNATURES,
        DISCHARGE_HEADERS,
        DISCHARGE_HPI,
        DISCHARGE_HPI_MORE,
        DISCHARGE_COURSE_MORE,
        DISCHARGE_DISPOSITION,
        DISCHARGE_FOLLOW_UP,
        DISCHARGE_ADMIN,
        DISCHARGE_SIGNATURES,
        NURSING_HEADERS,
        NURSING_LINES,
        NURSING_SIGNATURES,
    ] {
        all.extend_from_slice(list);
    }
    all.extend([COURSE_CHF, COURSE_COPD, COURSE_GENERIC]);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_known() {
        let reference = dates::ymd(2025, 6, 30);
        let mut rng = Rng::new(99);
        let rec = Record::random(&mut rng, reference, &(2..=2));
        let mut extra = vec![
            "{vitals_terse}",
            "{hospital_day}",
            "{conclusion}",
            "{pt_title}",
            "{rel_name}",
            "{pt_first}",
            "{state}",
            "{zip}",
        ];
        extra.extend(all_templates());
        for t in extra {
            let mut ctx = NoteContext::new(&rec, 0, &mut rng).unwrap_or_else(|| panic!("no encounter"));
            let mut b = NoteBuilder::new(false);
            b.render(t, &mut ctx);
            let (text, _) = b.finish();
            assert!(!text.contains(['{', '}']), "unfilled placeholder in {t:?}");
        }
    }
}
