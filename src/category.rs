//! The four consent categories every KmerOccase tracker belongs to.

use serde::{Deserialize, Serialize};

/// A consent category. Every SDK the policy lists belongs to exactly one.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, uniffi::Enum,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// What the service cannot work without (session, language, security). Always granted.
    Essential,
    /// Audience measurement and usage statistics.
    Statistics,
    /// Content and ads chosen from what the user did.
    Personalization,
    /// Advertising partners that promote KmerOccase elsewhere.
    Marketing,
}

impl Category {
    /// All four, in the order they are shown.
    pub const ALL: [Category; 4] = [
        Category::Essential,
        Category::Statistics,
        Category::Personalization,
        Category::Marketing,
    ];

    /// The three the user may refuse.
    pub const OPTIONAL: [Category; 3] = [
        Category::Statistics,
        Category::Personalization,
        Category::Marketing,
    ];

    /// The id used in policies, the database and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Essential => "essential",
            Category::Statistics => "statistics",
            Category::Personalization => "personalization",
            Category::Marketing => "marketing",
        }
    }

    /// Parses the id used in policies and the CLI.
    pub fn parse(id: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == id)
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of the three optional categories; essential is always granted and has no field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Grants {
    pub statistics: bool,
    pub personalization: bool,
    pub marketing: bool,
}

impl Grants {
    pub const NONE: Grants = Grants {
        statistics: false,
        personalization: false,
        marketing: false,
    };
    pub const ALL: Grants = Grants {
        statistics: true,
        personalization: true,
        marketing: true,
    };

    /// Whether `category` is granted; essential always is.
    pub fn get(&self, category: Category) -> bool {
        match category {
            Category::Essential => true,
            Category::Statistics => self.statistics,
            Category::Personalization => self.personalization,
            Category::Marketing => self.marketing,
        }
    }

    /// Sets an optional category; setting essential has no effect (callers reject a refusal first).
    pub fn set(&mut self, category: Category, granted: bool) {
        match category {
            Category::Essential => {}
            Category::Statistics => self.statistics = granted,
            Category::Personalization => self.personalization = granted,
            Category::Marketing => self.marketing = granted,
        }
    }

    /// Whether at least one optional category is refused.
    pub fn any_refused(&self) -> bool {
        !(self.statistics && self.personalization && self.marketing)
    }

    /// Granted where both are: the more restrictive choice per category.
    pub fn and(self, other: Grants) -> Grants {
        Grants {
            statistics: self.statistics && other.statistics,
            personalization: self.personalization && other.personalization,
            marketing: self.marketing && other.marketing,
        }
    }

    /// Granted where either is.
    pub fn or(self, other: Grants) -> Grants {
        Grants {
            statistics: self.statistics || other.statistics,
            personalization: self.personalization || other.personalization,
            marketing: self.marketing || other.marketing,
        }
    }

    /// The same with `category` refused.
    pub fn without(mut self, category: Category) -> Grants {
        self.set(category, false);
        self
    }

    /// Whether any optional category is granted.
    pub fn any_granted(&self) -> bool {
        self.statistics || self.personalization || self.marketing
    }

    /// Every category with its state, essential included, in display order.
    pub fn to_map(self) -> std::collections::HashMap<Category, bool> {
        Category::ALL
            .into_iter()
            .map(|c| (c, self.get(c)))
            .collect()
    }
}
