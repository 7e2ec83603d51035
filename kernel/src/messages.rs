//! The messages a terminal shows the cardholder and the attendant, and the
//! language it shows them in.
//!
//! Book 4, 11.2 (standard messages) gives each message an identifier, `01`
//! to `13`, and its English text; the kernel emits them as events at the
//! moments the books name (the transaction's [`next_message`]), and the
//! terminal shows them in the language chosen by [`select_language`]
//! (Book 1, 11.3.4 and Book 4, 11.1: the card's Language Preference, 5F2D,
//! against the terminal's languages, else the merchant's language). The
//! texts here are English, German, French and Spanish; any other language
//! falls back to English.
//!
//! [`next_message`]: crate::transaction::Transaction::next_message

/// A language, as its ISO 639-1 alpha-2 code in lower case (`en`, `de`):
/// the coding of the Language Preference (5F2D, Book 3, Annex A).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Language(pub [u8; 2]);

impl Language {
    /// English, the language of Book 4, 11.2.
    pub const ENGLISH: Language = Language(*b"en");
    /// German.
    pub const GERMAN: Language = Language(*b"de");
    /// French.
    pub const FRENCH: Language = Language(*b"fr");
    /// Spanish.
    pub const SPANISH: Language = Language(*b"es");

    /// The languages this module has texts for.
    pub const WITH_TEXTS: [Language; 4] = [
        Language::ENGLISH,
        Language::GERMAN,
        Language::FRENCH,
        Language::SPANISH,
    ];

    /// The language with this two-letter code (any case); `None` unless it
    /// is two ASCII letters.
    pub fn from_code(code: &[u8]) -> Option<Language> {
        match code {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Some(Language([a.to_ascii_lowercase(), b.to_ascii_lowercase()]))
            }
            _ => None,
        }
    }

    /// The code as text (`"en"`).
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl core::fmt::Display for Language {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Book 1, 11.3.4 and Book 4, 11.1: the language to show messages in. The
/// card's Language Preference (5F2D: up to four 2-letter codes, the card's
/// most preferred first) is compared with the terminal's languages; the
/// first of the card's languages the terminal supports is used. Without a
/// match (or without 5F2D) the merchant's language is used: the first of
/// the terminal's, or English when the terminal names none.
///
/// The books let a terminal with several languages ask the cardholder
/// instead of falling back; this kernel does not ask (docs/conformance.md,
/// "Language selection").
pub fn select_language(preference: Option<&[u8]>, terminal: &[Language]) -> Language {
    let merchant = terminal.first().copied().unwrap_or(Language::ENGLISH);
    let Some(preference) = preference else {
        return merchant;
    };
    preference
        .chunks_exact(2)
        .filter_map(Language::from_code)
        .find(|wanted| terminal.contains(wanted))
        .unwrap_or(merchant)
}

/// A message of Book 4, 11.2, or one the kernel adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Message {
    /// `01` (AMOUNT).
    Amount,
    /// `02` (AMOUNT) OK?
    AmountOk,
    /// `03` APPROVED.
    Approved,
    /// `04` CALL YOUR BANK: the issuer referred the transaction.
    CallYourBank,
    /// `05` CANCEL OR ENTER.
    CancelOrEnter,
    /// `06` CARD ERROR.
    CardError,
    /// `07` DECLINED.
    Declined,
    /// `08` ENTER AMOUNT.
    EnterAmount,
    /// `09` ENTER PIN.
    EnterPin,
    /// `0A` INCORRECT PIN.
    IncorrectPin,
    /// `0B` INSERT CARD.
    InsertCard,
    /// `0C` NOT ACCEPTED.
    NotAccepted,
    /// `0D` PIN OK.
    PinOk,
    /// `0E` PLEASE WAIT.
    PleaseWait,
    /// `0F` PROCESSING ERROR.
    ProcessingError,
    /// `10` REMOVE CARD.
    RemoveCard,
    /// `11` USE CHIP READER.
    UseChipReader,
    /// `12` USE MAG STRIPE.
    UseMagStripe,
    /// `13` TRY AGAIN.
    TryAgain,
    /// LAST PIN TRY: the card has one PIN try left. Not one of Book 4's
    /// numbered messages: it has no standard identifier.
    LastPinTry,
}

impl Message {
    /// Every message, in identifier order, [`Message::LastPinTry`] last.
    pub const ALL: [Message; 20] = [
        Message::Amount,
        Message::AmountOk,
        Message::Approved,
        Message::CallYourBank,
        Message::CancelOrEnter,
        Message::CardError,
        Message::Declined,
        Message::EnterAmount,
        Message::EnterPin,
        Message::IncorrectPin,
        Message::InsertCard,
        Message::NotAccepted,
        Message::PinOk,
        Message::PleaseWait,
        Message::ProcessingError,
        Message::RemoveCard,
        Message::UseChipReader,
        Message::UseMagStripe,
        Message::TryAgain,
        Message::LastPinTry,
    ];

    /// The message identifier of Book 4, 11.2 (`0x01` to `0x13`); `None`
    /// for [`Message::LastPinTry`], which has none.
    pub fn standard_id(self) -> Option<u8> {
        let index = Message::ALL.iter().position(|m| *m == self)?;
        match self {
            Message::LastPinTry => None,
            // ok: index < 19 for every other message.
            _ => u8::try_from(index + 1).ok(),
        }
    }

    /// A stable snake_case code for machine-readable output.
    pub fn code(self) -> &'static str {
        match self {
            Message::Amount => "amount",
            Message::AmountOk => "amount_ok",
            Message::Approved => "approved",
            Message::CallYourBank => "call_your_bank",
            Message::CancelOrEnter => "cancel_or_enter",
            Message::CardError => "card_error",
            Message::Declined => "declined",
            Message::EnterAmount => "enter_amount",
            Message::EnterPin => "enter_pin",
            Message::IncorrectPin => "incorrect_pin",
            Message::InsertCard => "insert_card",
            Message::NotAccepted => "not_accepted",
            Message::PinOk => "pin_ok",
            Message::PleaseWait => "please_wait",
            Message::ProcessingError => "processing_error",
            Message::RemoveCard => "remove_card",
            Message::UseChipReader => "use_chip_reader",
            Message::UseMagStripe => "use_mag_stripe",
            Message::TryAgain => "try_again",
            Message::LastPinTry => "last_pin_try",
        }
    }

    /// The text in `language`; English when this module has no text in it.
    pub fn text(self, language: Language) -> &'static str {
        let [en, de, fr, es] = self.texts();
        match &language.0 {
            b"de" => de,
            b"fr" => fr,
            b"es" => es,
            _ => en,
        }
    }

    /// English (Book 4, 11.2), German, French, Spanish.
    fn texts(self) -> [&'static str; 4] {
        match self {
            Message::Amount => ["AMOUNT", "BETRAG", "MONTANT", "IMPORTE"],
            Message::AmountOk => ["(AMOUNT) OK?", "BETRAG OK?", "MONTANT OK ?", "IMPORTE OK?"],
            Message::Approved => ["APPROVED", "GENEHMIGT", "ACCEPTÉ", "APROBADA"],
            Message::CallYourBank => [
                "CALL YOUR BANK",
                "BANK ANRUFEN",
                "APPELEZ VOTRE BANQUE",
                "LLAME A SU BANCO",
            ],
            Message::CancelOrEnter => [
                "CANCEL OR ENTER",
                "ABBRUCH ODER BESTÄTIGEN",
                "ANNULER OU VALIDER",
                "CANCELAR O ACEPTAR",
            ],
            Message::CardError => [
                "CARD ERROR",
                "KARTENFEHLER",
                "ERREUR CARTE",
                "ERROR DE TARJETA",
            ],
            Message::Declined => ["DECLINED", "ABGELEHNT", "REFUSÉ", "DENEGADA"],
            Message::EnterAmount => [
                "ENTER AMOUNT",
                "BETRAG EINGEBEN",
                "SAISIR LE MONTANT",
                "INTRODUZCA IMPORTE",
            ],
            Message::EnterPin => [
                "ENTER PIN",
                "PIN EINGEBEN",
                "SAISIR LE CODE",
                "INTRODUZCA PIN",
            ],
            Message::IncorrectPin => ["INCORRECT PIN", "PIN FALSCH", "CODE FAUX", "PIN INCORRECTO"],
            Message::InsertCard => [
                "INSERT CARD",
                "KARTE EINSTECKEN",
                "INSÉREZ LA CARTE",
                "INSERTE LA TARJETA",
            ],
            Message::NotAccepted => [
                "NOT ACCEPTED",
                "NICHT AKZEPTIERT",
                "NON ACCEPTÉE",
                "NO ACEPTADA",
            ],
            Message::PinOk => ["PIN OK", "PIN OK", "CODE BON", "PIN CORRECTO"],
            Message::PleaseWait => [
                "PLEASE WAIT",
                "BITTE WARTEN",
                "PATIENTEZ",
                "ESPERE, POR FAVOR",
            ],
            Message::ProcessingError => [
                "PROCESSING ERROR",
                "VERARBEITUNGSFEHLER",
                "ERREUR DE TRAITEMENT",
                "ERROR DE PROCESO",
            ],
            Message::RemoveCard => [
                "REMOVE CARD",
                "KARTE ENTNEHMEN",
                "RETIREZ LA CARTE",
                "RETIRE LA TARJETA",
            ],
            Message::UseChipReader => [
                "USE CHIP READER",
                "CHIPLESER BENUTZEN",
                "UTILISEZ LA PUCE",
                "USE EL CHIP",
            ],
            Message::UseMagStripe => [
                "USE MAG STRIPE",
                "MAGNETSTREIFEN BENUTZEN",
                "UTILISEZ LA PISTE",
                "USE LA BANDA",
            ],
            Message::TryAgain => [
                "TRY AGAIN",
                "NOCHMAL VERSUCHEN",
                "RÉESSAYEZ",
                "INTÉNTELO DE NUEVO",
            ],
            Message::LastPinTry => [
                "LAST PIN TRY",
                "LETZTER PIN-VERSUCH",
                "DERNIER ESSAI",
                "ÚLTIMO INTENTO",
            ],
        }
    }
}

/// How many messages wait for the caller at most. A step emits at most
/// three before the kernel's next request; the caller reads them after each
/// answer. When it does not, the oldest are dropped.
pub const MESSAGE_QUEUE_CAPACITY: usize = 6;

/// The messages emitted and not read yet, oldest first. One byte per slot
/// (no length word): the transaction's state stays within its budget.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MessageQueue {
    /// The waiting messages from the front; `None` after the last.
    slots: [Option<Message>; MESSAGE_QUEUE_CAPACITY],
}

impl MessageQueue {
    /// Adds a message; the oldest is dropped when the queue is full.
    pub(crate) fn push(&mut self, message: Message) {
        match self.slots.iter_mut().find(|slot| slot.is_none()) {
            Some(free) => *free = Some(message),
            None => {
                self.slots.rotate_left(1);
                if let Some(last) = self.slots.last_mut() {
                    *last = Some(message);
                }
            }
        }
    }

    /// The oldest message, taken out of the queue.
    pub(crate) fn pop(&mut self) -> Option<Message> {
        let first = self.slots.first_mut()?.take();
        if first.is_some() {
            self.slots.rotate_left(1);
        }
        first
    }

    /// Empties the queue (a new transaction).
    pub(crate) fn clear(&mut self) {
        self.slots = [None; MESSAGE_QUEUE_CAPACITY];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_follow_book_4_table() {
        assert_eq!(Message::Amount.standard_id(), Some(0x01));
        assert_eq!(Message::CallYourBank.standard_id(), Some(0x04));
        assert_eq!(Message::EnterPin.standard_id(), Some(0x09));
        assert_eq!(Message::IncorrectPin.standard_id(), Some(0x0A));
        assert_eq!(Message::RemoveCard.standard_id(), Some(0x10));
        assert_eq!(Message::TryAgain.standard_id(), Some(0x13));
        assert_eq!(Message::LastPinTry.standard_id(), None);
        assert_eq!(Message::EnterPin.text(Language::ENGLISH), "ENTER PIN");
        assert_eq!(Message::EnterPin.text(Language(*b"xx")), "ENTER PIN");
        assert_eq!(Message::EnterPin.text(Language::GERMAN), "PIN EINGEBEN");
    }

    #[test]
    fn the_first_card_language_the_terminal_has_wins_else_the_merchants() {
        let terminal = [Language::GERMAN, Language::ENGLISH, Language::FRENCH];
        assert_eq!(select_language(Some(b"frde"), &terminal), Language::FRENCH);
        assert_eq!(select_language(Some(b"ITEN"), &terminal), Language::ENGLISH);
        assert_eq!(select_language(Some(b"it"), &terminal), Language::GERMAN);
        assert_eq!(select_language(None, &terminal), Language::GERMAN);
        assert_eq!(select_language(Some(b"f"), &terminal), Language::GERMAN);
        assert_eq!(select_language(Some(b"fr"), &[]), Language::ENGLISH);
    }

    #[test]
    fn a_full_queue_drops_the_oldest() {
        let mut queue = MessageQueue::default();
        for message in Message::ALL.iter().take(MESSAGE_QUEUE_CAPACITY + 1) {
            queue.push(*message);
        }
        assert_eq!(queue.pop(), Some(Message::AmountOk));
        for expected in &Message::ALL[2..=MESSAGE_QUEUE_CAPACITY] {
            assert_eq!(queue.pop(), Some(*expected));
        }
        assert_eq!(queue.pop(), None);
        queue.push(Message::PinOk);
        queue.clear();
        assert_eq!(queue.pop(), None);
    }
}
