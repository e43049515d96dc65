//! The vocabulary of the policy: purposes of use and actions.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why data is being accessed (HL7 PurposeOfUse, reduced to what the policy distinguishes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Purpose {
    /// Care of the patient.
    Treatment,
    /// Healthcare operations (administration, quality, privacy review).
    Operations,
    /// Research: de-identified data only.
    Research,
    /// Emergency access under break-glass.
    Emergency,
}

impl Purpose {
    /// Every purpose.
    pub const ALL: [Purpose; 4] = [Self::Treatment, Self::Operations, Self::Research, Self::Emergency];

    /// The policy-file name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Treatment => "treatment",
            Self::Operations => "operations",
            Self::Research => "research",
            Self::Emergency => "emergency",
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Purpose {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL.into_iter().find(|p| p.as_str() == s).ok_or(())
    }
}

/// What is done to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// Read (including search and export).
    Read,
    /// Create, update or delete.
    Write,
}

impl Action {
    /// The policy-file name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
