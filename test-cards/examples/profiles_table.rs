//! Prints the profile table of `test-cards/PROFILES.md`:
//! `cargo run -p emv-test-cards --example profiles_table`.

fn main() {
    print!("{}", emv_test_cards::profiles::markdown_table());
}
