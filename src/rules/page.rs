//! What a message from the consent page may record. A page is answered once, by the person it was
//! shown to, in the state it was shown in: its token (see `bridge`) binds it to the store, the
//! subject, the policy text, the layer, the locale and the [`PageState`]; any decision recorded
//! since (on the page or elsewhere), a change of subject or an erasure makes it stale.

use crate::category::Grants;
use crate::page::ConsentPageLayer;
use crate::record::DecisionSource;

/// What the user did on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UiAction {
    AcceptAll,
    RejectAll,
    /// "Continue without accepting" (or closing the banner): a refusal.
    Dismiss,
    /// A custom choice from the preferences.
    Save(Grants),
    /// The preferences, opened from the app's settings, closed without saving: nothing to record.
    Close,
}

/// The state a page was rendered in, and must still be in when it is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageState {
    /// Whose page it is (an account id, or `""` for the anonymous device).
    pub subject: String,
    /// The hash of the policy text it shows.
    pub policy_hash: String,
    /// The id of the newest decision in the store, of any subject (0 before the first): any
    /// decision recorded since makes the page stale, which is what makes it single-use.
    pub last_decision_id: i64,
    /// The head of the subject's hash chain: an erasure makes the page stale too.
    pub chain_head: String,
    /// How many pages were closed without a decision (the store counts them): closing spends a
    /// page's token as a decision does.
    pub closed_pages: i64,
    /// Decisions held in memory that the store could not write yet (see `restriction`).
    pub unwritten: u64,
}

impl PageState {
    /// The canonical form the token's MAC covers, one field per line.
    pub fn canonical(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}\n{}:{}:{}",
            self.subject.len(),
            self.subject,
            self.policy_hash,
            self.last_decision_id,
            self.chain_head,
            self.closed_pages,
            self.unwritten
        )
    }
}

/// What `action`, on a page opened on `layer`, records: a source and the categories, or nothing
/// (`Ok(None)`: the preferences shown alone and closed). An action the layer does not offer is
/// refused.
pub fn recorded(
    action: UiAction,
    layer: ConsentPageLayer,
) -> Result<Option<(DecisionSource, Grants)>, String> {
    Ok(Some(match (action, layer) {
        (UiAction::AcceptAll, _) => (DecisionSource::PageAcceptAll, Grants::ALL),
        (UiAction::RejectAll, _) => (DecisionSource::PageRejectAll, Grants::NONE),
        (UiAction::Save(grants), _) => (DecisionSource::PageSave, grants),
        (UiAction::Dismiss, ConsentPageLayer::Banner) => {
            (DecisionSource::PageDismiss, Grants::NONE)
        }
        (UiAction::Close, ConsentPageLayer::Preferences) => return Ok(None),
        (UiAction::Dismiss | UiAction::Close, _) => {
            return Err("this action is not on the page that was shown".into())
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_layer_offers_its_own_way_out() {
        assert_eq!(
            recorded(UiAction::Dismiss, ConsentPageLayer::Banner),
            Ok(Some((DecisionSource::PageDismiss, Grants::NONE)))
        );
        assert!(recorded(UiAction::Dismiss, ConsentPageLayer::Preferences).is_err());
        assert_eq!(
            recorded(UiAction::Close, ConsentPageLayer::Preferences),
            Ok(None)
        );
        assert!(recorded(UiAction::Close, ConsentPageLayer::Banner).is_err());
        for layer in [ConsentPageLayer::Banner, ConsentPageLayer::Preferences] {
            assert_eq!(
                recorded(UiAction::AcceptAll, layer),
                Ok(Some((DecisionSource::PageAcceptAll, Grants::ALL)))
            );
            let some = Grants {
                marketing: true,
                ..Grants::NONE
            };
            assert_eq!(
                recorded(UiAction::Save(some), layer),
                Ok(Some((DecisionSource::PageSave, some)))
            );
        }
    }

    #[test]
    fn the_state_a_token_covers_tells_every_field_apart() {
        let state = PageState {
            subject: "a\nb".into(),
            policy_hash: "h".into(),
            last_decision_id: 7,
            chain_head: "c".into(),
            closed_pages: 0,
            unwritten: 0,
        };
        let other_subject = PageState {
            subject: "a".into(),
            policy_hash: "b\nh".into(),
            ..state.clone()
        };
        assert_ne!(state.canonical(), other_subject.canonical());
        for changed in [
            PageState {
                last_decision_id: 8,
                ..state.clone()
            },
            PageState {
                chain_head: "d".into(),
                ..state.clone()
            },
            PageState {
                unwritten: 1,
                ..state.clone()
            },
            PageState {
                closed_pages: 1,
                ..state.clone()
            },
        ] {
            assert_ne!(state.canonical(), changed.canonical());
        }
    }
}
