//! The offline limits of the configuration (`[offline_limits]`), checked by the journal
//! (`emv_journal::Journal::offline_limits_reached`) before each transaction.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Caps on the offline exposure not yet forwarded to the acquirer; `None` means no cap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineLimits {
    /// Most unsynced offline approvals allowed.
    pub max_offline_approvals: Option<u32>,
    /// Most cumulative amount (minor units, all currencies added) of unsynced offline approvals.
    pub max_offline_amount: Option<u64>,
    /// Oldest an unsynced offline approval may be, in seconds.
    pub max_unsynced_age_secs: Option<u64>,
}

impl OfflineLimits {
    /// Whether any cap is set.
    pub fn any(&self) -> bool {
        self.max_offline_approvals.is_some()
            || self.max_offline_amount.is_some()
            || self.max_unsynced_age_secs.is_some()
    }

    /// The age cap as a duration.
    pub fn max_unsynced_age(&self) -> Option<Duration> {
        self.max_unsynced_age_secs.map(Duration::from_secs)
    }
}
