//! [`ConfigError`], the error of a model or loss config that cannot be built, and [`Result`].

/// A model or loss configuration that cannot be built, naming the field and what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid value for `{field}`: {message}")]
pub struct ConfigError {
    /// The config key at fault, e.g. `model.depth`.
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl ConfigError {
    /// An error for `field` saying `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A result whose error type defaults to [`ConfigError`].
pub type Result<T, E = ConfigError> = std::result::Result<T, E>;
