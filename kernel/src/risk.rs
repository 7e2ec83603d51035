//! Terminal risk management: Book 3, 10.6.
//!
//! Floor limit checking, random transaction selection, velocity checking and
//! the terminal exception file. Each check only sets TVR bits; terminal
//! action analysis (10.7) decides what they mean.
//!
//! The kernel owns no clock and no randomness: the caller passes the random
//! number for random selection and the sum of recent approved amounts for
//! the same PAN from its own log. The engine reads the ATC (9F36) and Last
//! Online ATC Register (9F13) with GET DATA when [`velocity_checking_applies`]
//! says so, and passes what it got.
//!
//! Entry point: [`terminal_risk_management`]. In the transaction, `start`
//! and `on_recent_amount` (crate-internal) gather its inputs: the caller's
//! transaction log, then GET DATA of the counters.

use crate::apdu;
use crate::context::{Context, Step};
use crate::initiate::{Aip, AIP_TERMINAL_RISK_MANAGEMENT};
use crate::outcome::TerminationReason;
use crate::restrict;
use crate::tlv::{self, Tag};
use crate::tvr::{self, Tsi, Tvr};

/// Random transaction selection parameters (Book 3, 10.6.2), from the
/// terminal's configuration for this AID.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RandomSelection {
    /// Threshold Value for Biased Random Selection (minor units): below it
    /// the plain Target Percentage applies. Book 3 requires it below the
    /// floor limit; if it is not, the biased range is simply empty.
    pub threshold: u64,
    /// Target Percentage to be Used for Random Selection, 0..=99.
    pub target_percentage: u8,
    /// Maximum Target Percentage to be Used for Biased Random Selection,
    /// 0..=99, at least `target_percentage`.
    pub max_target_percentage: u8,
}

/// Caller misuse: a risk-management parameter outside its defined range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RiskConfigError {
    /// The random number is not in 1..=99.
    RandomOutOfRange,
    /// A target percentage is above 99 or the target exceeds the maximum.
    BadTargetPercentage,
}

impl core::fmt::Display for RiskConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            RiskConfigError::RandomOutOfRange => "random selection number outside 1 to 99",
            RiskConfigError::BadTargetPercentage => {
                "target percentage above 99, or above the maximum target percentage"
            }
        })
    }
}

impl core::error::Error for RiskConfigError {}

impl RandomSelection {
    /// Parameters that select no transaction (target percentages 0): what an
    /// offline-only terminal uses, since Book 3, 10.6.2 and Book 4, 6.3.5
    /// make random transaction selection a function of terminals with
    /// online capability (it only sends transactions online).
    pub const NEVER: RandomSelection = RandomSelection {
        threshold: 0,
        target_percentage: 0,
        max_target_percentage: 0,
    };

    /// Checks the ranges Book 3, 10.6.2 gives the parameters.
    pub fn validate(&self) -> Result<(), RiskConfigError> {
        if self.target_percentage > 99
            || self.max_target_percentage > 99
            || self.target_percentage > self.max_target_percentage
        {
            return Err(RiskConfigError::BadTargetPercentage);
        }
        Ok(())
    }
}

/// Book 3, 10.6.1: the amount plus the recent approved amounts for the same
/// PAN (from the terminal's log; 0 if none) reaches the Terminal Floor Limit
/// (9F1B). Saturating: an overflowing sum exceeds any limit.
pub fn floor_limit_exceeded(
    amount_authorised: u64,
    recent_same_pan_total: u64,
    floor_limit: u64,
) -> bool {
    amount_authorised.saturating_add(recent_same_pan_total) >= floor_limit
}

/// Book 3, 10.6.2: whether random transaction selection picks this
/// transaction for online processing, given the caller's random number
/// in 1..=99.
///
/// - amount < threshold: selected when random <= Target Percentage;
/// - threshold <= amount < floor limit: selected when random <= Transaction
///   Target Percent = ((Max Target - Target) x (amount - threshold) /
///   (floor limit - threshold)) + Target;
/// - amount >= floor limit: no random selection (the floor limit check
///   already sends it online).
///
/// The interpolated percent is usually fractional. Because the random
/// number is an integer, `random <= percent` is evaluated exactly by
/// cross-multiplying in 128-bit integers: random x D <= (Max - Target) x
/// (amount - threshold) + Target x D, with D = floor limit - threshold.
/// Nothing is rounded, so over all 99 random values the selection rate is
/// exactly floor(percent) / 99.
pub fn randomly_selected(
    amount_authorised: u64,
    floor_limit: u64,
    params: &RandomSelection,
    random: u8,
) -> Result<bool, RiskConfigError> {
    if !(1..=99).contains(&random) {
        return Err(RiskConfigError::RandomOutOfRange);
    }
    params.validate()?;
    if amount_authorised >= floor_limit {
        return Ok(false);
    }
    let random = u128::from(random);
    let target = u128::from(params.target_percentage);
    if amount_authorised < params.threshold {
        return Ok(random <= target);
    }
    // Here threshold <= amount < floor limit, so span > 0 and the
    // subtractions cannot underflow.
    let span = u128::from(floor_limit.saturating_sub(params.threshold));
    let above = u128::from(amount_authorised.saturating_sub(params.threshold));
    let extra = u128::from(
        params
            .max_target_percentage
            .saturating_sub(params.target_percentage),
    );
    Ok(random * span <= extra * above + target * span)
}

/// Book 3, 10.6.3: velocity checking applies only when the card holds both
/// the Lower (9F14) and Upper (9F23) Consecutive Offline Limits; only then
/// does the engine GET DATA the ATC and the Last Online ATC Register.
pub fn velocity_checking_applies(lower_limit: Option<u8>, upper_limit: Option<u8>) -> bool {
    lower_limit.is_some() && upper_limit.is_some()
}

/// What the engine learnt from GET DATA for velocity checking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VelocityCounters {
    /// Application Transaction Counter (9F36); `None` if GET DATA failed or
    /// the card did not return it (2 bytes binary).
    pub atc: Option<u16>,
    /// Last Online ATC Register (9F13); `None` if GET DATA failed or the card
    /// did not return it.
    pub last_online_atc: Option<u16>,
}

/// The TVR bits velocity checking sets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VelocityResult {
    /// "Lower consecutive offline limit exceeded".
    pub lower_exceeded: bool,
    /// "Upper consecutive offline limit exceeded".
    pub upper_exceeded: bool,
    /// "New card".
    pub new_card: bool,
}

/// Book 3, 10.6.3: velocity checking.
///
/// - ATC - Last Online ATC > LCOL: lower limit exceeded; > UCOL: upper limit
///   exceeded (a difference equal to the limit has not exceeded it).
/// - If either counter was not returned, or ATC <= Last Online ATC (the card's
///   counters are inconsistent: the ATC was already incremented for this
///   transaction), both limits are treated as exceeded and "New card" is not
///   derived from a missing register.
/// - Last Online ATC Register = 0: "New card".
///
/// A counter GET DATA could not read sets no "ICC data missing": Book 3,
/// 10.6.3 names only the two limit bits for that case.
pub fn velocity_check(
    lower_limit: u8,
    upper_limit: u8,
    counters: VelocityCounters,
) -> VelocityResult {
    let new_card = counters.last_online_atc == Some(0);
    match (counters.atc, counters.last_online_atc) {
        (Some(atc), Some(last_online)) if atc > last_online => {
            let offline_run = atc - last_online;
            VelocityResult {
                lower_exceeded: offline_run > u16::from(lower_limit),
                upper_exceeded: offline_run > u16::from(upper_limit),
                new_card,
            }
        }
        _ => VelocityResult {
            lower_exceeded: true,
            upper_exceeded: true,
            new_card,
        },
    }
}

/// Book 3, 10.6 (terminal exception file, "hot list"): whether the PAN
/// appears in the caller's list. PANs are compared as digit strings in the
/// card's format (5A, compressed numeric): trailing 'F' padding and any
/// bytes after it are ignored on both sides.
pub fn on_exception_file(pan: &[u8], exception_file: &[&[u8]]) -> bool {
    exception_file.iter().any(|listed| same_pan(pan, listed))
}

/// The decimal digits of a compressed-numeric value, stopping at the first
/// 'F' pad nibble.
fn pan_digits(pan: &[u8]) -> impl Iterator<Item = u8> + '_ {
    pan.iter()
        .flat_map(|b| [b >> 4, b & 0x0F])
        .take_while(|d| *d != 0x0F)
}

fn same_pan(a: &[u8], b: &[u8]) -> bool {
    pan_digits(a).eq(pan_digits(b))
}

/// Everything terminal risk management needs for one transaction.
#[derive(Clone, Copy, Debug)]
pub struct RiskInput<'a> {
    /// Amount, Authorised (9F02/81), minor units.
    pub amount_authorised: u64,
    /// Sum of the caller's recently logged approved amounts for this PAN (0 if none).
    pub recent_same_pan_total: u64,
    /// Terminal Floor Limit (9F1B), minor units.
    pub floor_limit: u64,
    /// Random selection parameters.
    pub random_selection: RandomSelection,
    /// The caller's random number in 1..=99 for this transaction.
    pub random: u8,
    /// Lower Consecutive Offline Limit (9F14), if the card has it.
    pub lower_consecutive_offline_limit: Option<u8>,
    /// Upper Consecutive Offline Limit (9F23), if the card has it.
    pub upper_consecutive_offline_limit: Option<u8>,
    /// What GET DATA returned (ignored when velocity checking does not apply).
    pub counters: VelocityCounters,
    /// Application PAN (5A).
    pub pan: &'a [u8],
    /// The terminal exception file: PANs in 5A format.
    pub exception_file: &'a [&'a [u8]],
}

/// Book 3, 10.6: runs floor limit checking, random transaction selection,
/// velocity checking and the exception file check; sets their TVR bits
/// (byte 1 b5; byte 2 b4; byte 4 b8-b5) and the TSI bit "Terminal risk
/// management was performed".
///
/// Random-selection parameters out of range (random number outside 1..=99,
/// bad percentages) are the caller's error: random selection is skipped and
/// the error returned, but every other check still runs and sets its bits,
/// so a configuration mistake never hides a floor limit or a hot-listed card.
pub fn terminal_risk_management(
    input: &RiskInput<'_>,
    tvr: &mut Tvr,
    tsi: &mut Tsi,
) -> Result<(), RiskConfigError> {
    if on_exception_file(input.pan, input.exception_file) {
        tvr.set(tvr::CARD_ON_EXCEPTION_FILE);
    }
    if floor_limit_exceeded(
        input.amount_authorised,
        input.recent_same_pan_total,
        input.floor_limit,
    ) {
        tvr.set(tvr::EXCEEDS_FLOOR_LIMIT);
    }
    if let (Some(lower), Some(upper)) = (
        input.lower_consecutive_offline_limit,
        input.upper_consecutive_offline_limit,
    ) {
        let velocity = velocity_check(lower, upper, input.counters);
        if velocity.lower_exceeded {
            tvr.set(tvr::LCOL_EXCEEDED);
        }
        if velocity.upper_exceeded {
            tvr.set(tvr::UCOL_EXCEEDED);
        }
        if velocity.new_card {
            tvr.set(tvr::NEW_CARD);
        }
    }
    tsi.set(tvr::TSI_TERMINAL_RISK_MANAGEMENT_PERFORMED);
    let selected = randomly_selected(
        input.amount_authorised,
        input.floor_limit,
        &input.random_selection,
        input.random,
    )?;
    if selected {
        tvr.set(tvr::RANDOMLY_SELECTED_ONLINE);
    }
    Ok(())
}

/// Book 3, 10.6.3: GET DATA sent for velocity checking, with what the checks
/// carry to the end: the caller's recent amount for the card and the
/// counters read so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VelocityChecking {
    recent_amount_same_card: u64,
    counters: VelocityCounters,
    /// The Last Online ATC Register is asked for (second GET DATA), not the ATC.
    last_online: bool,
}

/// Book 3, 10.6 in the transaction: "merchant forced online", then, when the
/// AIP asks for terminal risk management (byte 1 b4), waits for the
/// caller's transaction log (10.6.1); otherwise only the exception file is
/// checked and the step is over.
pub(crate) fn start(cx: &mut Context<'_>, aip: Aip) -> Step<()> {
    if cx.inputs.merchant_forced_online {
        cx.set_tvr(tvr::MERCHANT_FORCED_ONLINE);
    }
    if !aip.has(AIP_TERMINAL_RISK_MANAGEMENT) {
        // Book 3, 10.6: whatever the AIP says about terminal risk
        // management, a terminal with an exception file checks the PAN
        // against it (with the AIP bit set, the risk step does it).
        let pan = cx.store.get(Tag(0x5A)).unwrap_or(&[]);
        if on_exception_file(pan, cx.terminal_context.exception_file) {
            cx.set_tvr(tvr::CARD_ON_EXCEPTION_FILE);
        }
        return Step::Done(());
    }
    // Book 3, 10.6.1: the floor limit check may add the amount of the
    // card's most recent logged transaction; the caller owns the log.
    Step::Wait(())
}

/// The caller's answer from its transaction log (Book 3, 10.6.1); then
/// velocity checking (Book 3, 10.6.3): reads the ATC and Last Online ATC
/// Register when the card has both consecutive offline limits, then
/// finishes the checks.
pub(crate) fn on_recent_amount(
    cx: &mut Context<'_>,
    recent_amount_same_card: u64,
) -> Step<VelocityChecking> {
    let lower = cx.store.get(Tag(0x9F14)).and_then(|v| v.first().copied());
    let upper = cx.store.get(Tag(0x9F23)).and_then(|v| v.first().copied());
    let checking = VelocityChecking {
        recent_amount_same_card,
        counters: VelocityCounters {
            atc: None,
            last_online_atc: None,
        },
        last_online: false,
    };
    if velocity_checking_applies(lower, upper) {
        checking.get_data(cx, Tag(0x9F36))
    } else {
        checking.finish(cx)
    }
}

impl VelocityChecking {
    fn get_data(self, cx: &mut Context<'_>, tag: Tag) -> Step<Self> {
        match apdu::get_data(tag) {
            Ok(command) => {
                cx.command = command;
                Step::Wait(self)
            }
            Err(_) => self.finish(cx),
        }
    }

    /// The card's answer to GET DATA of the ATC or the Last Online ATC
    /// Register.
    pub(crate) fn on_response(
        mut self,
        cx: &mut Context<'_>,
        data: &[u8],
        status: u16,
    ) -> Step<Self> {
        let tag = if self.last_online {
            Tag(0x9F13)
        } else {
            Tag(0x9F36)
        };
        let value = if status == 0x9000 {
            tlv::find(data, tag)
                .and_then(|v| <[u8; 2]>::try_from(v).ok())
                .map(u16::from_be_bytes)
        } else {
            None
        };
        if self.last_online {
            self.counters.last_online_atc = value;
            self.finish(cx)
        } else {
            self.counters.atc = value;
            self.last_online = true;
            self.get_data(cx, Tag(0x9F13))
        }
    }

    /// Runs [`terminal_risk_management`] with everything gathered.
    fn finish(self, cx: &mut Context<'_>) -> Step<Self> {
        let Some(app) = cx.app_config() else {
            return Step::Terminate(TerminationReason::NoApplication);
        };
        let pan = cx.store.get(Tag(0x5A)).unwrap_or(&[]);
        let input = RiskInput {
            amount_authorised: cx.inputs.amount_authorised,
            recent_same_pan_total: self.recent_amount_same_card,
            floor_limit: app.floor_limit,
            // Book 3, 10.6.2 and Book 4, 6.3.5: only a terminal with online
            // capability selects transactions randomly for online processing.
            random_selection: if restrict::online_capable(cx.terminal_context.config) {
                RandomSelection {
                    threshold: app.random_selection_threshold,
                    target_percentage: app.random_selection_target_percentage,
                    max_target_percentage: app.random_selection_max_target_percentage,
                }
            } else {
                RandomSelection::NEVER
            },
            random: cx.inputs.random_selection_number,
            lower_consecutive_offline_limit: cx
                .store
                .get(Tag(0x9F14))
                .and_then(|v| v.first().copied()),
            upper_consecutive_offline_limit: cx
                .store
                .get(Tag(0x9F23))
                .and_then(|v| v.first().copied()),
            counters: self.counters,
            pan,
            exception_file: cx.terminal_context.exception_file,
        };
        // Out-of-range percentages are a configuration error: the checks
        // that could run did; TAA still decides.
        let _ = terminal_risk_management(&input, &mut cx.terminal.tvr, &mut cx.terminal.tsi);
        Step::Done(())
    }
}
