//! The one way both functions read their environment at cold start: a typed lookup through an
//! injectable function, whose errors name the variable that is missing or malformed.

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{name} is malformed: {why}")]
    Malformed { name: &'static str, why: String },
}

/// Reads variables through `get`, so tests need not touch the process environment.
pub struct Env<F: Fn(&str) -> Option<String>>(pub F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// The trimmed value; unset and blank are both `None`.
    pub fn opt(&self, name: &'static str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }
    pub fn req(&self, name: &'static str) -> Result<String, ConfigError> {
        self.opt(name).ok_or(ConfigError::Missing(name))
    }
    /// A whole number, `default` when unset.
    pub fn num(&self, name: &'static str, default: u64) -> Result<u64, ConfigError> {
        match self.opt(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| ConfigError::Malformed {
                name,
                why: format!("{v:?} is not a whole number"),
            }),
        }
    }
    /// A whole number above 0, `default` when unset.
    pub fn positive(&self, name: &'static str, default: u64) -> Result<u64, ConfigError> {
        let v = self.num(name, default)?;
        if v == 0 {
            return Err(ConfigError::Malformed {
                name,
                why: "must be greater than 0".into(),
            });
        }
        Ok(v)
    }
}

impl Env<fn(&str) -> Option<String>> {
    /// The process environment.
    pub fn process() -> Self {
        Env(|k| std::env::var(k).ok())
    }
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// One of a fixed set of words, `default` when unset.
    pub fn choice<T: Copy>(
        &self,
        name: &'static str,
        default: T,
        words: &[(&str, T)],
    ) -> Result<T, ConfigError> {
        let Some(v) = self.opt(name) else {
            return Ok(default);
        };
        words
            .iter()
            .find(|(w, _)| *w == v)
            .map(|(_, t)| *t)
            .ok_or_else(|| ConfigError::Malformed {
                name,
                why: format!(
                    "must be {}, not {v:?}",
                    words
                        .iter()
                        .map(|(w, _)| *w)
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> Env<impl Fn(&str) -> Option<String>> {
        Env(move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn blank_values_count_as_unset_and_are_trimmed() {
        let e = env(&[("A", "  "), ("B", " x ")]);
        assert_eq!(e.opt("A"), None);
        assert_eq!(e.opt("B").as_deref(), Some("x"));
        assert_eq!(e.req("A").unwrap_err().to_string(), "A is required");
    }

    #[test]
    fn numbers_and_choices_name_the_variable_when_malformed() {
        let e = env(&[("N", "x"), ("Z", "0"), ("C", "maybe")]);
        assert_eq!(
            e.num("N", 1).unwrap_err().to_string(),
            "N is malformed: \"x\" is not a whole number"
        );
        assert_eq!(
            e.positive("Z", 1).unwrap_err().to_string(),
            "Z is malformed: must be greater than 0"
        );
        assert_eq!(e.num("UNSET", 7).unwrap(), 7);
        let words = [("yes", true), ("no", false)];
        assert_eq!(
            e.choice("C", true, &words).unwrap_err().to_string(),
            "C is malformed: must be yes or no, not \"maybe\""
        );
        assert!(e.choice("UNSET", true, &words).unwrap());
    }
}
