//! The built-in FHIR policies, written in the same TOML an operator would
//! write, so they double as examples of the format.
//!
//! Only elements that need something other than the structural defaults are
//! listed: ids and references are always pseudonymized, dates follow
//! `dates`, codes stay, and every other string goes through the text engine.

use super::policy::RawFhirPolicy;
use crate::{Error, Result};

/// HIPAA Safe Harbor over FHIR R4.
pub const SAFE_HARBOR: &str = r#"
name = "safe-harbor"
default = "text"
dates = "date-shift"
ages = "generalize"

[rules]
# Names of the patient, relatives and clinicians: per-patient surrogates,
# word by word, the same as a note's names under NAME = "surrogate".
"Patient.name" = "surrogate:NAME"
"Patient.contact.name" = "surrogate:NAME"
"RelatedPerson.name" = "surrogate:NAME"
"Practitioner.name" = "surrogate:NAME"
"Person.name" = "surrogate:NAME"
"**.name.prefix" = "text"
"**.name.suffix" = "text"

# The patient named in a reference gets the patient's surrogate.
"**.subject.display" = "surrogate:NAME"
"**.patient.display" = "surrogate:NAME"
"**.beneficiary.display" = "surrogate:NAME"

# Other people and places named in references.
"**.requester.display" = "redact:NAME"
"**.performer.display" = "redact:NAME"
"**.generalPractitioner.display" = "redact:NAME"
"**.actor.display" = "redact:NAME"
"**.author.display" = "redact:NAME"
"**.authorReference.display" = "redact:NAME"
"**.recorder.display" = "redact:NAME"
"**.asserter.display" = "redact:NAME"
"**.individual.display" = "redact:NAME"
"**.practitioner.display" = "redact:NAME"
"**.authenticator.display" = "redact:NAME"
"**.resultsInterpreter.display" = "redact:NAME"
"**.informationSource.display" = "redact:NAME"
"**.custodian.display" = "redact:LOCATION"
"**.managingOrganization.display" = "redact:LOCATION"
"**.serviceProvider.display" = "redact:LOCATION"
"**.organization.display" = "redact:LOCATION"
"**.location.display" = "redact:LOCATION"

# Contact details and pictures.
"**.telecom" = "remove"
"**.photo" = "remove"
"**.address.line" = "surrogate:ADDRESS"
"**.address.city" = "surrogate:LOCATION"
"**.address.district" = "surrogate:LOCATION"
"**.address.postalCode" = "generalize:ZIP"
"**.address.text" = "redact:ADDRESS"
"**.address.state" = "keep"
"**.address.country" = "keep"
# An Address inside an extension or a choice value (birthPlace,
# Observation.valueAddress) gets the same treatment.
"**.valueAddress.line" = "surrogate:ADDRESS"
"**.valueAddress.city" = "surrogate:LOCATION"
"**.valueAddress.district" = "surrogate:LOCATION"
"**.valueAddress.postalCode" = "generalize:ZIP"
"**.valueAddress.text" = "redact:ADDRESS"
"**.valueAddress.state" = "keep"
"**.valueAddress.country" = "keep"

# Identifiers (MRN, SSN, plan and account numbers, NPI): keyed pseudonyms,
# the kind taken from Identifier.type or system.
"**.identifier.value" = "pseudonym"
"**.masterIdentifier.value" = "pseudonym"

# Free text: narrative, notes, conclusions and attached documents.
"**.text.div" = "text"
"**.note.text" = "text"
"DiagnosticReport.conclusion" = "text"
"DocumentReference.content.attachment.data" = "text"
"DiagnosticReport.presentedForm.data" = "text"
"#;

/// HIPAA limited data set: Safe Harbor's rules, but dates, ages, city,
/// district (county), state and ZIP are kept.
pub const LIMITED_DATA_SET: &str = r#"
name = "limited-data-set"
base = "safe-harbor"
dates = "keep"
ages = "keep"

[rules]
"**.address.city" = "keep"
"**.address.district" = "keep"
"**.address.postalCode" = "keep"
"**.valueAddress.city" = "keep"
"**.valueAddress.district" = "keep"
"**.valueAddress.postalCode" = "keep"
"#;

/// The raw form of a built-in policy.
pub(super) fn raw(name: &str) -> Result<RawFhirPolicy> {
    let source = match name {
        "safe-harbor" => SAFE_HARBOR,
        "limited-data-set" => LIMITED_DATA_SET,
        other => return Err(Error::UnknownPolicy(other.to_owned())),
    };
    toml::from_str(source).map_err(|e| Error::Policy(format!("built-in FHIR policy {name}: {}", e.message())))
}

#[cfg(test)]
mod tests {
    use super::super::policy::{DateOp, FhirPolicy};

    #[test]
    fn builtins_parse() {
        let sh = FhirPolicy::builtin("safe-harbor").unwrap();
        assert_eq!(sh.dates(), DateOp::Shift);
        assert!(sh.generalizes_ages());
        let lds = FhirPolicy::builtin("limited-data-set").unwrap();
        assert_eq!(lds.name(), "limited-data-set");
        assert_eq!(lds.dates(), DateOp::Keep);
        assert!(!lds.generalizes_ages());
        assert!(FhirPolicy::builtin("nope").is_err());
    }
}
