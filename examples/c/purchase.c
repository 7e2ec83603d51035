/*
 * An offline purchase of 12.50 on the simulated CDA card, through the C ABI
 * of emv-kernel (include/emv_kernel.h). The transaction lives in this
 * program's own memory: the library allocates nothing for it.
 *
 * Build (from the repository root; ffi/README.md has the details):
 *   cargo build -p emv-kernel-ffi --features simulated-cards
 *   cc -DEMV_SIMULATED_CARDS -Iinclude examples/c/purchase.c \
 *      target/debug/libemv_kernel_ffi.a -lpthread -ldl -lm -o purchase
 *   ./purchase [PROFILE]        (default cda; exit 0 approved, 2 declined, 3 terminated)
 */
#include <stdalign.h>

#include "example_common.h"

/* Room for the transaction, aligned for it (checked against the library below). */
static alignas(16) unsigned char transaction_memory[16384];

static int run(struct emv_config *config, struct emv_ca_keys *keys, struct emv_sim_card *card) {
    if (emv_transaction_size() > sizeof transaction_memory || emv_transaction_align() > 16) {
        fprintf(stderr, "transaction memory too small: %zu bytes, alignment %zu needed\n",
                emv_transaction_size(), emv_transaction_align());
        return 1;
    }
    struct emv_transaction_inputs inputs;
    if (fill_purchase(config, 1250, &inputs) != 0) return 1;

    struct emv_transaction *tx = NULL;
    enum emv_error error = emv_transaction_init(transaction_memory, sizeof transaction_memory,
                                                config, keys, &inputs, &tx);
    if (error != EMV_OK) return fail("emv_transaction_init", error);

    int status = 1;
    for (;;) {
        struct emv_request req;
        error = emv_request(tx, &req);
        if (error != EMV_OK) {
            status = fail("emv_request", error);
            break;
        }
        if (req.kind == EMV_REQUEST_DONE) {
            status = print_outcome(tx);
            break;
        }
        if (req.kind == EMV_REQUEST_TRANSMIT) {
            uint8_t response[300];
            size_t response_len = 0;
            error = emv_sim_card_transmit(card, req.apdu, req.apdu_len, response, sizeof response,
                                          &response_len);
            error = error == EMV_OK ? emv_on_response(tx, response, response_len)
                                    : emv_on_transport_error(tx);
        } else {
            error = answer_terminal(tx, &req);
        }
        if (error != EMV_OK) {
            status = fail("answering the request", error);
            break;
        }
    }
    emv_transaction_free(tx);
    return status;
}

int main(int argc, char **argv) {
    const char *profile = argc > 1 ? argv[1] : "cda";
    struct emv_config *config = NULL;
    struct emv_ca_keys *keys = NULL;
    struct emv_sim_card *card = NULL;
    enum emv_error error;
    int status = 1;
    if ((error = emv_config_default(&config)) != EMV_OK) {
        status = fail("emv_config_default", error);
    } else if ((error = emv_test_ca_keys(&keys)) != EMV_OK) {
        status = fail("emv_test_ca_keys", error);
    } else if ((error = emv_sim_card_new(profile, &card)) != EMV_OK) {
        status = fail("emv_sim_card_new", error);
    } else {
        printf("card: simulated %s, amount 12.50\n", profile);
        status = run(config, keys, card);
    }
    emv_sim_card_free(card);
    emv_ca_keys_free(keys);
    emv_config_free(config);
    return status;
}
