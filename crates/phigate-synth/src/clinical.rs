//! The clinical content: a small catalogue of common chronic conditions with
//! their SNOMED CT and ICD-10-CM codes, the drugs (RxNorm ingredient codes)
//! and procedures that go with them, and lab and vital-sign values drawn to
//! fit them (an HbA1c above 6.5 % only for diabetics, a low eGFR for CKD).

use crate::person::Sex;
use crate::rng::Rng;

/// Condition identities the value models test for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cond {
    Diabetes,
    Hypertension,
    HeartFailure,
    Copd,
    BreastCancer,
    Ckd,
    Asthma,
    Depression,
    Hyperlipidemia,
    AtrialFibrillation,
    Cad,
    Hypothyroidism,
    IronDeficiency,
    Anxiety,
    KneeOsteoarthritis,
    Obesity,
    Alzheimer,
}

/// A drug as prescribed.
pub(crate) struct Drug {
    /// RxNorm ingredient (TTY IN) concept.
    pub(crate) rxnorm: &'static str,
    /// Generic name as written in notes and the RxNorm display.
    pub(crate) name: &'static str,
    /// Brand name some notes use instead.
    pub(crate) brand: Option<&'static str>,
    /// Dose choices (value, UCUM unit).
    pub(crate) doses: &'static [(f64, &'static str)],
    /// Route and frequency as written, e.g. "by mouth twice daily".
    pub(crate) sig: &'static str,
    /// Abbreviated frequency for terse notes, e.g. "BID".
    pub(crate) abbrev: &'static str,
    /// Administrations per day (0 for as needed).
    pub(crate) per_day: u32,
    /// Drug class: a patient never gets two drugs of one class (no two
    /// statins, no ACE inhibitor with an ARB).
    pub(crate) class: &'static str,
}

/// A procedure.
pub(crate) struct Proc {
    pub(crate) snomed: &'static str,
    pub(crate) display: &'static str,
}

/// A catalogue condition.
pub(crate) struct CondDef {
    pub(crate) cond: Cond,
    pub(crate) snomed: &'static str,
    pub(crate) snomed_display: &'static str,
    pub(crate) icd10: &'static str,
    pub(crate) icd10_display: &'static str,
    /// As written in narrative text.
    pub(crate) text: &'static str,
    /// As abbreviated in terse notes.
    pub(crate) abbrev: &'static str,
    /// What brings such a patient to hospital.
    pub(crate) complaint: &'static str,
    pub(crate) min_age: i32,
    pub(crate) female_only: bool,
    pub(crate) weight: u32,
    pub(crate) drugs: &'static [Drug],
    pub(crate) procs: &'static [Proc],
}

const ONCE: &str = "by mouth once daily";
const TWICE: &str = "by mouth twice daily";

const ECG: Proc = Proc { snomed: "29303009", display: "Electrocardiographic procedure" };
const ECHO: Proc = Proc { snomed: "40701008", display: "Echocardiography" };
const CXR: Proc = Proc { snomed: "399208008", display: "Plain X-ray of chest" };
const SPIRO: Proc = Proc { snomed: "127783003", display: "Spirometry" };
const MED_REC: Proc = Proc { snomed: "430193006", display: "Medication reconciliation" };
const A1C_TEST: Proc = Proc { snomed: "43396009", display: "Hemoglobin A1c measurement" };

const METOPROLOL: Drug = Drug {
    rxnorm: "6918",
    name: "metoprolol tartrate",
    brand: Some("Lopressor"),
    doses: &[(25.0, "mg"), (50.0, "mg")],
    sig: TWICE,
    abbrev: "BID",
    per_day: 2,
    class: "beta blocker",
};
const ATORVASTATIN: Drug = Drug {
    rxnorm: "83367",
    name: "atorvastatin",
    brand: Some("Lipitor"),
    doses: &[(20.0, "mg"), (40.0, "mg"), (80.0, "mg")],
    sig: "by mouth at bedtime",
    abbrev: "qHS",
    per_day: 1,
    class: "statin",
};
const ALBUTEROL: Drug = Drug {
    rxnorm: "435",
    name: "albuterol",
    brand: Some("ProAir"),
    doses: &[(90.0, "ug")],
    sig: "2 puffs inhaled every 4 to 6 hours as needed for wheeze",
    abbrev: "q4-6h PRN",
    per_day: 0,
    class: "SABA",
};
const SERTRALINE: Drug = Drug {
    rxnorm: "36437",
    name: "sertraline",
    brand: Some("Zoloft"),
    doses: &[(50.0, "mg"), (100.0, "mg")],
    sig: ONCE,
    abbrev: "daily",
    per_day: 1,
    class: "SSRI",
};
const ESCITALOPRAM: Drug = Drug {
    rxnorm: "321988",
    name: "escitalopram",
    brand: Some("Lexapro"),
    doses: &[(10.0, "mg"), (20.0, "mg")],
    sig: ONCE,
    abbrev: "daily",
    per_day: 1,
    class: "SSRI",
};
const FERROUS_SULFATE: Drug = Drug {
    rxnorm: "24947",
    name: "ferrous sulfate",
    brand: None,
    doses: &[(325.0, "mg")],
    sig: "by mouth once daily with orange juice",
    abbrev: "daily",
    per_day: 1,
    class: "iron",
};

/// The catalogue. Codes: SNOMED CT (disorder concepts), ICD-10-CM (FY2024),
/// RxNorm ingredient concepts, SNOMED CT procedures.
pub(crate) const CONDITIONS: &[CondDef] = &[
    CondDef {
        cond: Cond::Hypertension,
        snomed: "59621000",
        snomed_display: "Essential hypertension",
        icd10: "I10",
        icd10_display: "Essential (primary) hypertension",
        text: "hypertension",
        abbrev: "HTN",
        complaint: "a hypertensive urgency with headache and blood pressure of 212/118",
        min_age: 22,
        female_only: false,
        weight: 30,
        drugs: &[
            Drug {
                rxnorm: "29046",
                name: "lisinopril",
                brand: Some("Zestril"),
                doses: &[(10.0, "mg"), (20.0, "mg"), (40.0, "mg")],
                sig: ONCE,
                abbrev: "daily",
                per_day: 1,
                class: "RAAS",
            },
            Drug {
                rxnorm: "17767",
                name: "amlodipine",
                brand: Some("Norvasc"),
                doses: &[(5.0, "mg"), (10.0, "mg")],
                sig: ONCE,
                abbrev: "daily",
                per_day: 1,
                class: "CCB",
            },
            Drug {
                rxnorm: "5487",
                name: "hydrochlorothiazide",
                brand: None,
                doses: &[(12.5, "mg"), (25.0, "mg")],
                sig: "by mouth every morning",
                abbrev: "qAM",
                per_day: 1,
                class: "thiazide",
            },
            Drug {
                rxnorm: "52175",
                name: "losartan",
                brand: Some("Cozaar"),
                doses: &[(50.0, "mg"), (100.0, "mg")],
                sig: ONCE,
                abbrev: "daily",
                per_day: 1,
                class: "RAAS",
            },
        ],
        procs: &[ECG],
    },
    CondDef {
        cond: Cond::Hyperlipidemia,
        snomed: "55822004",
        snomed_display: "Hyperlipidemia",
        icd10: "E78.5",
        icd10_display: "Hyperlipidemia, unspecified",
        text: "hyperlipidemia",
        abbrev: "HLD",
        complaint: "atypical chest pain",
        min_age: 30,
        female_only: false,
        weight: 25,
        drugs: &[
            ATORVASTATIN,
            Drug {
                rxnorm: "36567",
                name: "simvastatin",
                brand: Some("Zocor"),
                doses: &[(20.0, "mg"), (40.0, "mg")],
                sig: "by mouth at bedtime",
                abbrev: "qHS",
                per_day: 1,
                class: "statin",
            },
        ],
        procs: &[MED_REC],
    },
    CondDef {
        cond: Cond::Diabetes,
        snomed: "44054006",
        snomed_display: "Diabetes mellitus type 2",
        icd10: "E11.9",
        icd10_display: "Type 2 diabetes mellitus without complications",
        text: "type 2 diabetes mellitus",
        abbrev: "T2DM",
        complaint: "hyperglycemia with polyuria and a glucose of 486 mg/dL",
        min_age: 25,
        female_only: false,
        weight: 22,
        drugs: &[
            Drug {
                rxnorm: "6809",
                name: "metformin",
                brand: Some("Glucophage"),
                doses: &[(500.0, "mg"), (1000.0, "mg")],
                sig: "by mouth twice daily with meals",
                abbrev: "BID",
                per_day: 2,
                class: "biguanide",
            },
            Drug {
                rxnorm: "274783",
                name: "insulin glargine",
                brand: Some("Lantus"),
                doses: &[(10.0, "[iU]"), (18.0, "[iU]"), (24.0, "[iU]"), (32.0, "[iU]")],
                sig: "subcutaneously at bedtime",
                abbrev: "SC qHS",
                per_day: 1,
                class: "insulin",
            },
            Drug {
                rxnorm: "1545653",
                name: "empagliflozin",
                brand: Some("Jardiance"),
                doses: &[(10.0, "mg"), (25.0, "mg")],
                sig: ONCE,
                abbrev: "daily",
                per_day: 1,
                class: "SGLT2",
            },
        ],
        procs: &[A1C_TEST],
    },
    CondDef {
        cond: Cond::HeartFailure,
        snomed: "42343007",
        snomed_display: "Congestive heart failure",
        icd10: "I50.9",
        icd10_display: "Heart failure, unspecified",
        text: "congestive heart failure",
        abbrev: "CHF",
        complaint: "worsening dyspnea on exertion, orthopnea and bilateral leg edema",
        min_age: 45,
        female_only: false,
        weight: 7,
        drugs: &[
            Drug {
                rxnorm: "4603",
                name: "furosemide",
                brand: Some("Lasix"),
                doses: &[(20.0, "mg"), (40.0, "mg"), (80.0, "mg")],
                sig: ONCE,
                abbrev: "daily",
                per_day: 1,
                class: "loop diuretic",
            },
            Drug {
                rxnorm: "20352",
                name: "carvedilol",
                brand: Some("Coreg"),
                doses: &[(6.25, "mg"), (12.5, "mg"), (25.0, "mg")],
                sig: "by mouth twice daily with food",
                abbrev: "BID",
                per_day: 2,
                class: "beta blocker",
            },
            Drug {
                rxnorm: "9997",
                name: "spironolactone",
                brand: Some("Aldactone"),
                doses: &[(25.0, "mg")],
                sig: ONCE,
                abbrev: "daily",
                per_day: 1,
                class: "MRA",
            },
        ],
        procs: &[ECHO, CXR],
    },
    CondDef {
        cond: Cond::Copd,
        snomed: "13645005",
        snomed_display: "Chronic obstructive lung disease",
        icd10: "J44.9",
        icd10_display: "Chronic obstructive pulmonary disease, unspecified",
        text: "chronic obstructive pulmonary disease",
        abbrev: "COPD",
        complaint: "increased cough, purulent sputum and shortness of breath",
        min_age: 45,
        female_only: false,
        weight: 7,
        drugs: &[
            Drug {
                rxnorm: "69120",
                name: "tiotropium",
                brand: Some("Spiriva"),
                doses: &[(18.0, "ug")],
                sig: "1 capsule inhaled once daily",
                abbrev: "daily",
                per_day: 1,
                class: "LAMA",
            },
            ALBUTEROL,
        ],
        procs: &[SPIRO, CXR],
    },
    CondDef {
        cond: Cond::BreastCancer,
        snomed: "254837009",
        snomed_display: "Malignant neoplasm of breast",
        icd10: "C50.919",
        icd10_display: "Malignant neoplasm of unspecified site of unspecified female breast",
        text: "breast cancer",
        abbrev: "breast CA",
        complaint: "fatigue and neutropenic fever",
        min_age: 35,
        female_only: true,
        weight: 4,
        drugs: &[
            Drug {
                rxnorm: "84857",
                name: "anastrozole",
                brand: Some("Arimidex"),
                doses: &[(1.0, "mg")],
                sig: ONCE,
                abbrev: "daily",
                per_day: 1,
                class: "endocrine therapy",
            },
            Drug {
                rxnorm: "10324",
                name: "tamoxifen",
                brand: None,
                doses: &[(20.0, "mg")],
                sig: ONCE,
                abbrev: "daily",
                per_day: 1,
                class: "endocrine therapy",
            },
            Drug {
                rxnorm: "72965",
                name: "letrozole",
                brand: Some("Femara"),
                doses: &[(2.5, "mg")],
                sig: ONCE,
                abbrev: "daily",
                per_day: 1,
                class: "endocrine therapy",
            },
        ],
        procs: &[
            Proc { snomed: "71651007", display: "Mammography" },
            Proc { snomed: "392021009", display: "Lumpectomy of breast" },
        ],
    },
    CondDef {
        cond: Cond::Ckd,
        snomed: "433144002",
        snomed_display: "Chronic kidney disease stage 3",
        icd10: "N18.30",
        icd10_display: "Chronic kidney disease, stage 3 unspecified",
        text: "chronic kidney disease stage 3",
        abbrev: "CKD 3",
        complaint: "acute kidney injury with poor oral intake",
        min_age: 40,
        female_only: false,
        weight: 8,
        drugs: &[FERROUS_SULFATE],
        procs: &[MED_REC],
    },
    CondDef {
        cond: Cond::Asthma,
        snomed: "195967001",
        snomed_display: "Asthma",
        icd10: "J45.909",
        icd10_display: "Unspecified asthma, uncomplicated",
        text: "asthma",
        abbrev: "asthma",
        complaint: "wheezing and chest tightness unrelieved by a rescue inhaler",
        min_age: 22,
        female_only: false,
        weight: 8,
        drugs: &[
            Drug {
                rxnorm: "41126",
                name: "fluticasone",
                brand: Some("Flovent"),
                doses: &[(110.0, "ug")],
                sig: "2 puffs inhaled twice daily",
                abbrev: "BID",
                per_day: 2,
                class: "ICS",
            },
            Drug {
                rxnorm: "88249",
                name: "montelukast",
                brand: Some("Singulair"),
                doses: &[(10.0, "mg")],
                sig: "by mouth at bedtime",
                abbrev: "qHS",
                per_day: 1,
                class: "LTRA",
            },
            ALBUTEROL,
        ],
        procs: &[SPIRO],
    },
    CondDef {
        cond: Cond::Depression,
        snomed: "370143000",
        snomed_display: "Major depressive disorder",
        icd10: "F32.9",
        icd10_display: "Major depressive disorder, single episode, unspecified",
        text: "major depressive disorder",
        abbrev: "MDD",
        complaint: "worsening depressed mood and poor oral intake",
        min_age: 22,
        female_only: false,
        weight: 10,
        drugs: &[
            SERTRALINE,
            ESCITALOPRAM,
            Drug {
                rxnorm: "42347",
                name: "bupropion",
                brand: Some("Wellbutrin XL"),
                doses: &[(150.0, "mg"), (300.0, "mg")],
                sig: "extended release, by mouth every morning",
                abbrev: "XL qAM",
                per_day: 1,
                class: "NDRI",
            },
        ],
        procs: &[Proc { snomed: "171207006", display: "Depression screening" }],
    },
    CondDef {
        cond: Cond::AtrialFibrillation,
        snomed: "49436004",
        snomed_display: "Atrial fibrillation",
        icd10: "I48.91",
        icd10_display: "Unspecified atrial fibrillation",
        text: "atrial fibrillation",
        abbrev: "AFib",
        complaint: "palpitations and atrial fibrillation with rapid ventricular response",
        min_age: 50,
        female_only: false,
        weight: 6,
        drugs: &[
            Drug {
                rxnorm: "1364430",
                name: "apixaban",
                brand: Some("Eliquis"),
                doses: &[(5.0, "mg"), (2.5, "mg")],
                sig: TWICE,
                abbrev: "BID",
                per_day: 2,
                class: "anticoagulant",
            },
            Drug {
                rxnorm: "11289",
                name: "warfarin",
                brand: Some("Coumadin"),
                doses: &[(5.0, "mg"), (2.5, "mg")],
                sig: "by mouth once daily in the evening, dose adjusted to INR 2-3",
                abbrev: "qPM",
                per_day: 1,
                class: "anticoagulant",
            },
            METOPROLOL,
        ],
        procs: &[ECG, Proc { snomed: "18286008", display: "Catheter ablation of tissue of heart" }],
    },
    CondDef {
        cond: Cond::Cad,
        snomed: "53741008",
        snomed_display: "Coronary arteriosclerosis",
        icd10: "I25.10",
        icd10_display: "Atherosclerotic heart disease of native coronary artery without angina pectoris",
        text: "coronary artery disease",
        abbrev: "CAD",
        complaint: "substernal chest pressure radiating to the left arm",
        min_age: 40,
        female_only: false,
        weight: 8,
        drugs: &[
            Drug {
                rxnorm: "1191",
                name: "aspirin",
                brand: None,
                doses: &[(81.0, "mg")],
                sig: ONCE,
                abbrev: "daily",
                per_day: 1,
                class: "antiplatelet",
            },
            ATORVASTATIN,
            METOPROLOL,
        ],
        procs: &[ECG, Proc { snomed: "36969009", display: "Placement of stent in coronary artery" }],
    },
    CondDef {
        cond: Cond::Hypothyroidism,
        snomed: "40930008",
        snomed_display: "Hypothyroidism",
        icd10: "E03.9",
        icd10_display: "Hypothyroidism, unspecified",
        text: "hypothyroidism",
        abbrev: "hypothyroidism",
        complaint: "fatigue, weight gain and cold intolerance",
        min_age: 22,
        female_only: false,
        weight: 8,
        drugs: &[Drug {
            rxnorm: "10582",
            name: "levothyroxine",
            brand: Some("Synthroid"),
            doses: &[(50.0, "ug"), (75.0, "ug"), (100.0, "ug"), (125.0, "ug")],
            sig: "by mouth every morning before breakfast",
            abbrev: "qAM",
            per_day: 1,
            class: "thyroid",
        }],
        procs: &[MED_REC],
    },
    CondDef {
        cond: Cond::IronDeficiency,
        snomed: "87522002",
        snomed_display: "Iron deficiency anemia",
        icd10: "D50.9",
        icd10_display: "Iron deficiency anemia, unspecified",
        text: "iron deficiency anemia",
        abbrev: "IDA",
        complaint: "exertional dyspnea and a hemoglobin of 6.9 g/dL",
        min_age: 22,
        female_only: false,
        weight: 5,
        drugs: &[FERROUS_SULFATE],
        procs: &[Proc { snomed: "73761001", display: "Colonoscopy" }],
    },
    CondDef {
        cond: Cond::Anxiety,
        snomed: "21897009",
        snomed_display: "Generalized anxiety disorder",
        icd10: "F41.1",
        icd10_display: "Generalized anxiety disorder",
        text: "generalized anxiety disorder",
        abbrev: "GAD",
        complaint: "chest tightness and palpitations thought to be panic attacks",
        min_age: 22,
        female_only: false,
        weight: 7,
        drugs: &[
            ESCITALOPRAM,
            SERTRALINE,
            Drug {
                rxnorm: "1827",
                name: "buspirone",
                brand: None,
                doses: &[(10.0, "mg"), (15.0, "mg")],
                sig: TWICE,
                abbrev: "BID",
                per_day: 2,
                class: "anxiolytic",
            },
        ],
        procs: &[MED_REC],
    },
    CondDef {
        cond: Cond::KneeOsteoarthritis,
        snomed: "239873007",
        snomed_display: "Osteoarthritis of knee",
        icd10: "M17.9",
        icd10_display: "Osteoarthritis of knee, unspecified",
        text: "osteoarthritis of the knee",
        abbrev: "knee OA",
        complaint: "a mechanical fall at home with right knee pain",
        min_age: 45,
        female_only: false,
        weight: 8,
        drugs: &[Drug {
            rxnorm: "161",
            name: "acetaminophen",
            brand: Some("Tylenol"),
            doses: &[(650.0, "mg"), (500.0, "mg")],
            sig: "by mouth every 6 hours as needed for pain, max 3 g per day",
            abbrev: "q6h PRN",
            per_day: 0,
            class: "analgesic",
        }],
        procs: &[MED_REC],
    },
    CondDef {
        cond: Cond::Obesity,
        snomed: "414916001",
        snomed_display: "Obesity",
        icd10: "E66.9",
        icd10_display: "Obesity, unspecified",
        text: "obesity",
        abbrev: "obesity",
        complaint: "cellulitis of the left lower leg",
        min_age: 22,
        female_only: false,
        weight: 10,
        drugs: &[],
        procs: &[MED_REC],
    },
    CondDef {
        cond: Cond::Alzheimer,
        snomed: "26929004",
        snomed_display: "Alzheimer's disease",
        icd10: "G30.9",
        icd10_display: "Alzheimer's disease, unspecified",
        text: "Alzheimer dementia",
        abbrev: "dementia",
        complaint: "acute confusion and a fall at an assisted living facility",
        min_age: 65,
        female_only: false,
        weight: 4,
        drugs: &[Drug {
            rxnorm: "135447",
            name: "donepezil",
            brand: Some("Aricept"),
            doses: &[(5.0, "mg"), (10.0, "mg")],
            sig: "by mouth at bedtime",
            abbrev: "qHS",
            per_day: 1,
            class: "cholinesterase inhibitor",
        }],
        procs: &[MED_REC],
    },
];

/// A drug chosen for a patient with its dose.
pub(crate) struct Prescription {
    pub(crate) drug: &'static Drug,
    pub(crate) dose: (f64, &'static str),
    /// Index of the condition it treats in [`Clinical::conditions`].
    pub(crate) for_condition: usize,
}

impl Prescription {
    /// "metformin 1000 mg" (or "Lasix 40 mg" when `brand`).
    pub(crate) fn name_dose(&self, brand: bool) -> String {
        let name = match (brand, self.drug.brand) {
            (true, Some(b)) => b,
            _ => self.drug.name,
        };
        format!("{name} {} {}", number(self.dose.0), unit_as_written(self.dose.1))
    }

    /// The full instruction: "metformin 1000 mg by mouth twice daily with meals".
    pub(crate) fn instruction(&self) -> String {
        format!("{} {}", self.name_dose(false), self.drug.sig)
    }
}

/// A UCUM unit as clinicians write it.
pub(crate) fn unit_as_written(ucum: &str) -> &str {
    match ucum {
        "ug" => "mcg",
        "[iU]" => "units",
        other => other,
    }
}

/// A dose without a trailing ".0".
pub(crate) fn number(x: f64) -> String {
    if x.fract() == 0.0 { format!("{x:.0}") } else { format!("{x}") }
}

/// The patient's conditions, medications and the physiological values lab
/// draws scatter around.
pub(crate) struct Clinical {
    pub(crate) conditions: Vec<&'static CondDef>,
    pub(crate) prescriptions: Vec<Prescription>,
    pub(crate) baseline: Baseline,
}

/// Per-patient central values of labs and vitals.
pub(crate) struct Baseline {
    pub(crate) creatinine: f64,
    pub(crate) a1c: f64,
    pub(crate) ldl: f64,
    pub(crate) hemoglobin: f64,
    pub(crate) bnp: f64,
    pub(crate) tsh: f64,
    pub(crate) potassium: f64,
    pub(crate) sodium: f64,
    pub(crate) glucose: f64,
    pub(crate) wbc: f64,
    pub(crate) systolic: f64,
    pub(crate) diastolic: f64,
    pub(crate) heart_rate: f64,
    pub(crate) spo2: f64,
    pub(crate) height_cm: f64,
    pub(crate) weight_kg: f64,
}

impl Clinical {
    /// Draws one to four conditions that fit the patient's age and sex, a
    /// drug or two for each, and baseline values consistent with them.
    pub(crate) fn random(rng: &mut Rng, sex: Sex, age: i32) -> Self {
        let eligible: Vec<&'static CondDef> =
            CONDITIONS.iter().filter(|c| age >= c.min_age && (!c.female_only || sex == Sex::Female)).collect();
        let wanted = 1 + rng.weighted(&[25, 35, 25, 15]);
        let mut conditions: Vec<&'static CondDef> = Vec::new();
        let mut weights: Vec<u32> = eligible.iter().map(|c| c.weight).collect();
        while conditions.len() < wanted && weights.iter().any(|w| *w > 0) {
            let i = rng.weighted(&weights);
            conditions.push(eligible[i]);
            weights[i] = 0;
        }
        let mut prescriptions = Vec::new();
        for (ci, c) in conditions.iter().enumerate() {
            if c.drugs.is_empty() {
                continue;
            }
            let count = if c.drugs.len() > 1 && rng.chance(0.4) { 2 } else { 1 };
            let first = rng.below(c.drugs.len() as u64) as usize;
            for k in 0..count {
                let drug = &c.drugs[(first + k) % c.drugs.len()];
                if prescriptions.iter().any(|p: &Prescription| p.drug.class == drug.class) {
                    continue;
                }
                let dose = rng.choose(drug.doses);
                prescriptions.push(Prescription { drug, dose, for_condition: ci });
            }
        }
        let has = |c: Cond| conditions.iter().any(|d| d.cond == c);
        let female = sex == Sex::Female;
        let on_statin = prescriptions.iter().any(|p| matches!(p.drug.rxnorm, "83367" | "36567"));
        let ckd = has(Cond::Ckd);
        let baseline = Baseline {
            creatinine: if ckd {
                creatinine_for_egfr(rng.uniform(30.0, 52.0), age, sex)
            } else {
                rng.uniform(0.6, 1.1) * if female { 0.9 } else { 1.05 }
            },
            a1c: if has(Cond::Diabetes) { rng.uniform(6.6, 10.2) } else { rng.uniform(4.8, 5.6) },
            ldl: if on_statin {
                rng.uniform(58.0, 112.0)
            } else if has(Cond::Hyperlipidemia) {
                rng.uniform(135.0, 195.0)
            } else {
                rng.uniform(75.0, 135.0)
            },
            hemoglobin: if has(Cond::IronDeficiency) || ckd {
                rng.uniform(8.6, 11.2)
            } else if female {
                rng.uniform(12.1, 14.6)
            } else {
                rng.uniform(13.4, 16.4)
            },
            bnp: if has(Cond::HeartFailure) { rng.uniform(280.0, 1600.0) } else { rng.uniform(12.0, 85.0) },
            tsh: if has(Cond::Hypothyroidism) { rng.uniform(0.9, 7.5) } else { rng.uniform(0.6, 3.6) },
            potassium: if ckd { rng.uniform(4.3, 5.4) } else { rng.uniform(3.6, 4.8) },
            sodium: rng.uniform(135.0, 143.0),
            glucose: if has(Cond::Diabetes) { rng.uniform(118.0, 236.0) } else { rng.uniform(76.0, 104.0) },
            wbc: rng.uniform(4.6, 10.2),
            systolic: if has(Cond::Hypertension) { rng.uniform(134.0, 164.0) } else { rng.uniform(106.0, 132.0) },
            diastolic: if has(Cond::Hypertension) { rng.uniform(80.0, 96.0) } else { rng.uniform(62.0, 82.0) },
            heart_rate: if has(Cond::AtrialFibrillation) { rng.uniform(78.0, 112.0) } else { rng.uniform(58.0, 90.0) },
            spo2: if has(Cond::Copd) { rng.uniform(88.0, 94.0) } else { rng.uniform(95.0, 99.4) },
            height_cm: if female { rng.uniform(150.0, 176.0) } else { rng.uniform(163.0, 192.0) },
            weight_kg: 0.0,
        };
        let bmi = if has(Cond::Obesity) { rng.uniform(30.5, 42.0) } else { rng.uniform(19.5, 29.5) };
        let baseline = Baseline { weight_kg: bmi * (baseline.height_cm / 100.0).powi(2), ..baseline };
        Self { conditions, prescriptions, baseline }
    }

    /// True if the patient has `cond`.
    pub(crate) fn has(&self, cond: Cond) -> bool {
        self.conditions.iter().any(|c| c.cond == cond)
    }
}

/// One measurable: LOINC code, unit, reference range and rounding.
pub(crate) struct Measure {
    pub(crate) loinc: &'static str,
    pub(crate) display: &'static str,
    /// Short name used in notes ("Cr", "K").
    pub(crate) short: &'static str,
    pub(crate) ucum: &'static str,
    /// Unit as written in notes ("" to write the bare number).
    pub(crate) written_unit: &'static str,
    pub(crate) decimals: u32,
    pub(crate) laboratory: bool,
}

macro_rules! measure {
    ($name:ident, $loinc:expr, $display:expr, $short:expr, $ucum:expr, $unit:expr, $dec:expr, $lab:expr) => {
        pub(crate) const $name: Measure = Measure {
            loinc: $loinc,
            display: $display,
            short: $short,
            ucum: $ucum,
            written_unit: $unit,
            decimals: $dec,
            laboratory: $lab,
        };
    };
}

measure!(SODIUM, "2951-2", "Sodium [Moles/volume] in Serum or Plasma", "Na", "mmol/L", "", 0, true);
measure!(POTASSIUM, "2823-3", "Potassium [Moles/volume] in Serum or Plasma", "K", "mmol/L", "", 1, true);
measure!(CREATININE, "2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "Cr", "mg/dL", "", 2, true);
measure!(
    EGFR,
    "98979-8",
    "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI 2021)",
    "eGFR",
    "mL/min/{1.73_m2}",
    "",
    0,
    true
);
measure!(GLUCOSE, "2345-7", "Glucose [Mass/volume] in Serum or Plasma", "glucose", "mg/dL", "", 0, true);
measure!(HEMOGLOBIN, "718-7", "Hemoglobin [Mass/volume] in Blood", "Hgb", "g/dL", "", 1, true);
measure!(WBC, "6690-2", "Leukocytes [#/volume] in Blood by Automated count", "WBC", "10*3/uL", "", 1, true);
measure!(A1C, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "HbA1c", "%", "%", 1, true);
measure!(
    LDL,
    "13457-7",
    "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation",
    "LDL",
    "mg/dL",
    "",
    0,
    true
);
measure!(BNP, "30934-4", "Natriuretic peptide B [Mass/volume] in Serum or Plasma", "BNP", "pg/mL", "", 0, true);
measure!(TSH, "3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", "TSH", "m[IU]/L", "", 2, true);
measure!(SYSTOLIC, "8480-6", "Systolic blood pressure", "SBP", "mm[Hg]", "", 0, false);
measure!(DIASTOLIC, "8462-4", "Diastolic blood pressure", "DBP", "mm[Hg]", "", 0, false);
measure!(HEART_RATE, "8867-4", "Heart rate", "HR", "/min", "", 0, false);
measure!(SPO2, "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "SpO2", "%", "%", 0, false);
measure!(WEIGHT, "29463-7", "Body weight", "Wt", "kg", " kg", 1, false);

/// A value with its reference range (either end may be open).
pub(crate) struct Value {
    pub(crate) measure: &'static Measure,
    pub(crate) value: f64,
    pub(crate) low: Option<f64>,
    pub(crate) high: Option<f64>,
}

impl Value {
    /// v3-ObservationInterpretation code: H, L or N.
    pub(crate) fn interpretation(&self) -> Option<(&'static str, &'static str)> {
        let (low, high) = (self.low?, self.high);
        if self.value < low {
            Some(("L", "Low"))
        } else if high.is_some_and(|h| self.value > h) {
            Some(("H", "High"))
        } else {
            Some(("N", "Normal"))
        }
    }

    /// "Cr 1.84" as written in a note.
    pub(crate) fn written(&self) -> String {
        format!("{} {}{}", self.measure.short, self.formatted(), self.measure.written_unit)
    }

    /// The value with the measure's decimals.
    pub(crate) fn formatted(&self) -> String {
        format!("{:.*}", self.measure.decimals as usize, self.value)
    }
}

fn round(x: f64, decimals: u32) -> f64 {
    let f = 10f64.powi(decimals as i32);
    (x * f).round() / f
}

fn jitter(rng: &mut Rng, center: f64, relative: f64) -> f64 {
    center * (1.0 + rng.uniform(-relative, relative))
}

fn value(m: &'static Measure, v: f64, low: Option<f64>, high: Option<f64>) -> Value {
    Value { measure: m, value: round(v, m.decimals), low, high }
}

/// eGFR by the race-free CKD-EPI 2021 creatinine equation.
pub(crate) fn egfr(creatinine: f64, age: i32, sex: Sex) -> f64 {
    let (kappa, alpha, factor) = match sex {
        Sex::Female => (0.7, -0.241, 1.012),
        Sex::Male => (0.9, -0.302, 1.0),
    };
    let ratio = creatinine / kappa;
    142.0 * ratio.min(1.0).powf(alpha) * ratio.max(1.0).powf(-1.200) * 0.9938f64.powi(age) * factor
}

/// The creatinine at which [`egfr`] gives `target` (below the bend of the
/// curve, which every CKD stage 3 target is), so CKD patients land in stage 3.
fn creatinine_for_egfr(target: f64, age: i32, sex: Sex) -> f64 {
    let (kappa, factor) = match sex {
        Sex::Female => (0.7, 1.012),
        Sex::Male => (0.9, 1.0),
    };
    let ratio = (target / (142.0 * 0.9938f64.powi(age) * factor)).powf(-1.0 / 1.2);
    kappa * ratio.max(1.0)
}

/// A lab draw: a metabolic panel and blood count always, plus the tests the
/// patient's conditions call for.
pub(crate) fn labs(rng: &mut Rng, clinical: &Clinical, sex: Sex, age: i32) -> Vec<Value> {
    let b = &clinical.baseline;
    let female = sex == Sex::Female;
    let cr = round(jitter(rng, b.creatinine, 0.08), 2);
    let mut out = vec![
        value(&SODIUM, jitter(rng, b.sodium, 0.01), Some(135.0), Some(145.0)),
        value(&POTASSIUM, jitter(rng, b.potassium, 0.04), Some(3.5), Some(5.1)),
        value(&CREATININE, cr, Some(if female { 0.59 } else { 0.74 }), Some(if female { 1.04 } else { 1.35 })),
        value(&EGFR, egfr(cr, age, sex), Some(60.0), None),
        value(&GLUCOSE, jitter(rng, b.glucose, 0.12), Some(70.0), Some(99.0)),
        value(
            &HEMOGLOBIN,
            jitter(rng, b.hemoglobin, 0.04),
            Some(if female { 12.0 } else { 13.5 }),
            Some(if female { 15.5 } else { 17.5 }),
        ),
        value(&WBC, jitter(rng, b.wbc, 0.12), Some(4.5), Some(11.0)),
    ];
    if clinical.has(Cond::Diabetes) || rng.chance(0.2) {
        out.push(value(&A1C, jitter(rng, b.a1c, 0.05), Some(4.0), Some(5.6)));
    }
    if clinical.has(Cond::Hyperlipidemia) || clinical.has(Cond::Cad) || clinical.has(Cond::Diabetes) {
        out.push(value(&LDL, jitter(rng, b.ldl, 0.08), None, Some(100.0)));
    }
    if clinical.has(Cond::HeartFailure) {
        out.push(value(&BNP, jitter(rng, b.bnp, 0.2), None, Some(100.0)));
    }
    if clinical.has(Cond::Hypothyroidism) {
        out.push(value(&TSH, jitter(rng, b.tsh, 0.15), Some(0.4), Some(4.0)));
    }
    out
}

/// Vital signs at one encounter.
pub(crate) fn vitals(rng: &mut Rng, clinical: &Clinical) -> Vec<Value> {
    let b = &clinical.baseline;
    vec![
        value(&SYSTOLIC, jitter(rng, b.systolic, 0.05), Some(90.0), Some(129.0)),
        value(&DIASTOLIC, jitter(rng, b.diastolic, 0.05), Some(60.0), Some(80.0)),
        value(&HEART_RATE, jitter(rng, b.heart_rate, 0.07), Some(60.0), Some(100.0)),
        value(&SPO2, jitter(rng, b.spo2, 0.01).min(100.0), Some(95.0), Some(100.0)),
        value(&WEIGHT, jitter(rng, b.weight_kg, 0.015), None, None),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn egfr_matches_published_examples() {
        // CKD-EPI 2021: creatinine 1.0 mg/dL, 50-year-old man → about 91.
        let e = egfr(1.0, 50, Sex::Male);
        assert!((e - 91.7).abs() < 1.0, "{e}");
        // 2.0 mg/dL, 70-year-old woman → about 26.
        let e = egfr(2.0, 70, Sex::Female);
        assert!((e - 25.8).abs() < 1.5, "{e}");
    }

    #[test]
    fn values_fit_conditions() {
        for seed in 0..200 {
            let mut rng = Rng::new(seed);
            let c = Clinical::random(&mut rng, Sex::Female, 70);
            assert!((1..=4).contains(&c.conditions.len()));
            let labs = labs(&mut rng, &c, Sex::Female, 70);
            let get = |code: &str| labs.iter().find(|v| v.measure.loinc == code).map(|v| v.value);
            if c.has(Cond::Diabetes) {
                assert!(get("4548-4").is_some_and(|a| a >= 6.2));
            } else if let Some(a) = get("4548-4") {
                assert!(a < 6.0);
            }
            if c.has(Cond::Ckd) {
                assert!(get("98979-8").is_some_and(|e| e < 60.0), "{:?}", get("98979-8"));
            }
            for (i, p) in c.prescriptions.iter().enumerate() {
                assert!(p.for_condition < c.conditions.len());
                assert!(c.prescriptions[..i].iter().all(|q| q.drug.class != p.drug.class), "two of one class");
            }
        }
    }

    #[test]
    fn codes_are_well_formed() {
        for c in CONDITIONS {
            assert!(c.snomed.bytes().all(|b| b.is_ascii_digit()), "{}", c.text);
            let icd = c.icd10.as_bytes();
            assert!(icd[0].is_ascii_uppercase() && icd[1].is_ascii_digit() && icd[2].is_ascii_alphanumeric());
            for d in c.drugs {
                assert!(d.rxnorm.bytes().all(|b| b.is_ascii_digit()) && !d.doses.is_empty());
            }
        }
    }
}
