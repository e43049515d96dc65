//! Errors of the policy crate. Messages name policy keys and roles, never patient data.

/// Everything that can go wrong loading a policy or requesting break-glass.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The policy file is not valid TOML or does not match the schema; `path` names the key.
    #[error("policy file: at `{path}`: {message}")]
    Parse {
        /// Dotted key path of the offending value (for example `roles.clinician.allow[0].purposes[1]`).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The policy parses but breaks a rule (for example a research grant that is not de-identified only).
    #[error("policy file: at `{path}`: {message}")]
    Invalid {
        /// Dotted key path of the offending value.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Reading the policy file failed.
    #[error("cannot read policy file {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// None of the principal's roles may use break-glass.
    #[error("break-glass is not permitted for this principal's roles")]
    BreakGlassNotPermitted,
    /// The stated reason is too short to review.
    #[error("break-glass reason must be at least {min} characters")]
    BreakGlassReasonTooShort {
        /// The minimum.
        min: usize,
    },
    /// The requested elevation is longer than the policy allows.
    #[error("break-glass duration must be between 1 minute and {max_minutes} minutes")]
    BreakGlassDuration {
        /// The maximum in minutes.
        max_minutes: u64,
    },
    /// The operating system's random number generator failed.
    #[error("random number generator failed")]
    Rng,
}
