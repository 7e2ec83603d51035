/*
 * What both C examples share: the transaction inputs a terminal fills
 * (clock, random source), the request loop's answers other than the card,
 * and printing the outcome with the PAN masked.
 */
#ifndef EMV_EXAMPLE_COMMON_H
#define EMV_EXAMPLE_COMMON_H

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "emv_kernel.h"

/* Prints what failed, the code's message and the library's detail; returns 1. */
static int fail(const char *what, enum emv_error error) {
    fprintf(stderr, "%s: %s (%s)\n", what, emv_error_message(error), emv_last_error_detail());
    return 1;
}

static uint8_t bcd(int value) {
    return (uint8_t)(((value / 10) << 4) | (value % 10));
}

/*
 * A purchase of `amount` minor units in the configuration's currency, now
 * (UTC), with a fresh unpredictable number and random selection number
 * from the system's random source. Every field is set: the library has no
 * defaults for them. Returns 0, or 1 when the random source fails.
 */
static int fill_purchase(const struct emv_config *config, uint64_t amount,
                         struct emv_transaction_inputs *inputs) {
    memset(inputs, 0, sizeof *inputs);
    inputs->amount_authorised = amount;
    inputs->amount_other = 0;
    inputs->transaction_type = 0x00; /* purchase */
    enum emv_error error =
        emv_config_currency(config, inputs->currency_code, &inputs->currency_exponent);
    if (error != EMV_OK) return fail("emv_config_currency", error);

    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    inputs->date[0] = bcd(utc.tm_year % 100);
    inputs->date[1] = bcd(utc.tm_mon + 1);
    inputs->date[2] = bcd(utc.tm_mday);
    inputs->time[0] = bcd(utc.tm_hour);
    inputs->time[1] = bcd(utc.tm_min);
    inputs->time[2] = bcd(utc.tm_sec);

    uint8_t random[5];
    if (getrandom(random, sizeof random, 0) != (ssize_t)sizeof random) {
        perror("getrandom");
        return 1;
    }
    memcpy(inputs->unpredictable_number, random, 4);
    inputs->random_selection_number = (uint8_t)(1 + random[4] % 99);
    /* A real terminal keeps the sequence counter across transactions. */
    inputs->transaction_sequence_counter = 1;
    inputs->merchant_forced_online = false;
    return 0;
}

/*
 * Answers every request that is not for the card: the first application,
 * PIN entry bypassed (this example has no PIN pad), no transaction log,
 * no host. Returns the call's error.
 */
static enum emv_error answer_terminal(struct emv_transaction *tx, const struct emv_request *req) {
    switch (req->kind) {
    case EMV_REQUEST_CHOOSE_APPLICATION: {
        struct emv_candidate candidate;
        enum emv_error error = emv_candidate(tx, 0, &candidate);
        if (error != EMV_OK) return error;
        printf("application: %s\n", candidate.label);
        return emv_on_application_chosen(tx, 0);
    }
    case EMV_REQUEST_ENTER_PIN:
        printf("PIN requested: bypassed (no PIN pad)\n");
        return emv_on_pin(tx, EMV_PIN_ENTRY_BYPASSED, NULL, 0);
    case EMV_REQUEST_RECENT_AMOUNT:
        return emv_on_recent_amount(tx, 0);
    case EMV_REQUEST_GO_ONLINE: {
        struct emv_host_response unreachable;
        memset(&unreachable, 0, sizeof unreachable);
        unreachable.reachable = false;
        printf("online: host unreachable\n");
        return emv_on_host(tx, &unreachable);
    }
    case EMV_REQUEST_ISSUER_REFERRAL:
        /* Book 4, 6.5.2: an attendant would call the issuer; nobody here. */
        printf("issuer referral (ARC %s): declined, nobody to call\n", req->authorisation_response_code);
        return emv_on_referral(tx, false);
    default:
        return EMV_ERROR_NOT_EXPECTED;
    }
}

static void print_hex(const char *label, const uint8_t *bytes, size_t len) {
    printf("%s: ", label);
    for (size_t i = 0; i < len; i++) printf("%02X", bytes[i]);
    printf("\n");
}

/*
 * Prints the outcome (the PAN only masked) and returns the exit status:
 * 0 approved, 2 declined, 3 terminated, 1 error.
 */
static int print_outcome(struct emv_transaction *tx) {
    struct emv_outcome outcome;
    uint8_t icc_data[EMV_MAX_ICC_DATA_BYTES];
    enum emv_error error = emv_outcome(tx, &outcome, icc_data, sizeof icc_data);
    if (error != EMV_OK) return fail("emv_outcome", error);

    static const char *const decisions[] = {"approved", "declined", "terminated"};
    static const char *const cryptograms[] = {"none", "AAC", "TC", "ARQC"};
    static const char *const oda_methods[] = {"none", "SDA", "DDA", "CDA"};
    static const char *const oda_results[] = {"not performed", "succeeded", "failed"};
    printf("decision: %s\n", decisions[outcome.decision]);
    if (outcome.decision == EMV_DECISION_TERMINATED)
        printf("reason: %s (%s)\n", outcome.termination_reason, outcome.termination_message);
    printf("cryptogram: %s", cryptograms[outcome.cryptogram_type]);
    if (outcome.has_cryptogram)
        for (size_t i = 0; i < sizeof outcome.cryptogram; i++) printf("%s%02X", i ? "" : " ", outcome.cryptogram[i]);
    printf("\n");
    if (outcome.has_atc) print_hex("ATC", outcome.atc, sizeof outcome.atc);
    print_hex("AID", outcome.aid, outcome.aid_len);
    printf("label: %s\n", outcome.application_label);
    printf("PAN: %s\n", outcome.masked_pan);
    printf("ODA: %s, %s%s%s\n", oda_methods[outcome.oda_method], oda_results[outcome.oda_result],
           outcome.oda_failure[0] ? " " : "", outcome.oda_failure);
    print_hex("TVR", outcome.tvr, sizeof outcome.tvr);
    print_hex("TSI", outcome.tsi, sizeof outcome.tsi);
    print_hex("CVM results", outcome.cvm_results, sizeof outcome.cvm_results);
    if (outcome.authorisation_response_code[0])
        printf("authorisation response code: %s\n", outcome.authorisation_response_code);
    printf("field 55: %zu bytes\n", outcome.icc_data_len);
    print_hex("field 55", icc_data, outcome.icc_data_len);
    switch (outcome.decision) {
    case EMV_DECISION_APPROVED: return 0;
    case EMV_DECISION_DECLINED: return 2;
    default: return 3;
    }
}

#endif
