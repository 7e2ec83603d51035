//! Offline business limits since the last successful sync.
//!
//! When a limit would be exceeded by the next offline approval, the terminal sets
//! "merchant forced transaction online" (TVR byte 4 bit 4, Book 4, 6.5.3) and goes online
//! if it can, or declines offline if it cannot; the [`LimitReason`] goes into the outcome.

use serde::Serialize;

pub use emv_config::OfflineLimits;

/// Which offline cap the next approval would break, with the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum LimitReason {
    /// `count` unsynced offline approvals already, cap `limit`.
    OfflineApprovalCount {
        /// Unsynced offline approvals in the journal.
        count: u64,
        /// The cap.
        limit: u32,
    },
    /// Unsynced offline total plus this amount would exceed the cap.
    OfflineAmount {
        /// Unsynced offline total in the journal.
        total: u64,
        /// The amount of the transaction being decided.
        amount: u64,
        /// The cap.
        limit: u64,
    },
    /// The oldest unsynced offline approval is older than the cap.
    UnsyncedAge {
        /// Its age in seconds.
        age_secs: u64,
        /// The cap in seconds.
        limit_secs: u64,
    },
}

impl std::fmt::Display for LimitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitReason::OfflineApprovalCount { count, limit } => write!(
                f,
                "offline approval count limit reached: {count} unsynced offline approvals, limit {limit}"
            ),
            LimitReason::OfflineAmount {
                total,
                amount,
                limit,
            } => write!(
                f,
                "offline amount limit reached: {total} unsynced + {amount} would exceed limit {limit}"
            ),
            LimitReason::UnsyncedAge {
                age_secs,
                limit_secs,
            } => write!(
                f,
                "unsynced age limit reached: oldest unsynced offline approval is {age_secs} s old, limit {limit_secs} s"
            ),
        }
    }
}

/// The unsynced offline exposure the limits are checked against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OfflineExposure {
    /// Unsynced offline approvals.
    pub count: u64,
    /// Their cumulative Amount, Authorised.
    pub total_amount: u64,
    /// Creation time (unix seconds) of the oldest of them.
    pub oldest_created_at: Option<i64>,
}

/// Checks the caps in a fixed order (count, amount, age) and returns the first one broken
/// by one more offline approval of `amount` at unix time `now`.
pub fn check(
    limits: &OfflineLimits,
    exposure: &OfflineExposure,
    now: i64,
    amount: u64,
) -> Option<LimitReason> {
    if let Some(limit) = limits.max_offline_approvals {
        if exposure.count >= u64::from(limit) {
            return Some(LimitReason::OfflineApprovalCount {
                count: exposure.count,
                limit,
            });
        }
    }
    if let Some(limit) = limits.max_offline_amount {
        if exposure.total_amount.saturating_add(amount) > limit {
            return Some(LimitReason::OfflineAmount {
                total: exposure.total_amount,
                amount,
                limit,
            });
        }
    }
    if let (Some(limit_secs), Some(oldest)) =
        (limits.max_unsynced_age_secs, exposure.oldest_created_at)
    {
        let age_secs = u64::try_from(now.saturating_sub(oldest)).unwrap_or(0);
        if age_secs >= limit_secs {
            return Some(LimitReason::UnsyncedAge {
                age_secs,
                limit_secs,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPOSURE: OfflineExposure = OfflineExposure {
        count: 3,
        total_amount: 3000,
        oldest_created_at: Some(1000),
    };

    #[test]
    fn no_caps_never_trigger() {
        assert_eq!(
            check(&OfflineLimits::default(), &EXPOSURE, 1_000_000, u64::MAX),
            None
        );
    }

    #[test]
    fn count_cap_triggers_at_the_limit() {
        let limits = OfflineLimits {
            max_offline_approvals: Some(3),
            ..Default::default()
        };
        assert_eq!(
            check(&limits, &EXPOSURE, 1000, 1),
            Some(LimitReason::OfflineApprovalCount { count: 3, limit: 3 })
        );
        let limits = OfflineLimits {
            max_offline_approvals: Some(4),
            ..Default::default()
        };
        assert_eq!(check(&limits, &EXPOSURE, 1000, 1), None);
    }

    #[test]
    fn amount_cap_counts_the_next_transaction() {
        let limits = OfflineLimits {
            max_offline_amount: Some(4000),
            ..Default::default()
        };
        assert_eq!(check(&limits, &EXPOSURE, 1000, 1000), None);
        assert_eq!(
            check(&limits, &EXPOSURE, 1000, 1001),
            Some(LimitReason::OfflineAmount {
                total: 3000,
                amount: 1001,
                limit: 4000
            })
        );
    }

    #[test]
    fn age_cap_uses_the_callers_clock() {
        let limits = OfflineLimits {
            max_unsynced_age_secs: Some(3600),
            ..Default::default()
        };
        assert_eq!(check(&limits, &EXPOSURE, 1000 + 3599, 1), None);
        assert_eq!(
            check(&limits, &EXPOSURE, 1000 + 3600, 1),
            Some(LimitReason::UnsyncedAge {
                age_secs: 3600,
                limit_secs: 3600
            })
        );
    }
}
