//! Steady-state hypotheses no host can judge: a p99 bound that is NaN and
//! a recovery time of zero, among sensible ones. The host must refuse the
//! flow when it is loaded, in one line, before any chapter or consent.

use guest_sdk::prelude::*;
use std::time::Duration;

#[derive(Default)]
struct Absurd;

impl Flow for Absurd {
    fn describe(&self) -> FlowInfo<Self> {
        FlowInfo::new("absurd-hypotheses", "0.1.0")
            .chapter(Chapter::new("Only").narration("Nothing happens."))
            .hypothesis(Hypothesis::no_lost_writes())
            .hypothesis(Hypothesis::p99_at_most_ms(f64::NAN).continuously().abort())
            .hypothesis(Hypothesis::all_running().after_undo(Duration::ZERO))
    }
}

export_flow!(Absurd);
