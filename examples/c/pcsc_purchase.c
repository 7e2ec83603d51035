/*
 * An offline purchase of 12.50 on a card in a PC/SC reader, through the C
 * ABI of emv-kernel (include/emv_kernel.h) and pcsc-lite's SCardTransmit.
 * The CA keys come from a capk.txt file; the transaction lives in memory the
 * library allocates. Nothing here is specific to simulated cards: with
 *   emv-terminal card serve --profile cda
 * the simulated CDA card sits in pcscd's virtual reader "Virtual PCD 00 00".
 *
 * Build (from the repository root; ffi/README.md has the details):
 *   cargo build -p emv-kernel-ffi
 *   cc -Iinclude $(pkg-config --cflags libpcsclite) examples/c/pcsc_purchase.c \
 *      target/debug/libemv_kernel_ffi.a $(pkg-config --libs libpcsclite) -lpthread -ldl -lm \
 *      -o pcsc_purchase
 *   ./pcsc_purchase [READER [CAPK_FILE]]
 *       (default "Virtual PCD 00 00" and test-cards/keys/capk.txt;
 *        exit 0 approved, 2 declined, 3 terminated, 1 error)
 */
#include <stdlib.h>
#include <winscard.h>

#include "example_common.h"

/* Reads a whole file; NULL on failure. */
static char *read_file(const char *path, size_t *len) {
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    char *text = NULL;
    size_t size = 0;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, file)) > 0) {
        char *grown = realloc(text, size + n);
        if (!grown) {
            free(text);
            fclose(file);
            return NULL;
        }
        text = grown;
        memcpy(text + size, chunk, n);
        size += n;
    }
    fclose(file);
    *len = size;
    return text ? text : calloc(1, 1);
}

/* Waits up to `timeout_ms` for a card in `reader`. */
static int wait_for_card(SCARDCONTEXT context, const char *reader, DWORD timeout_ms) {
    SCARD_READERSTATE state;
    memset(&state, 0, sizeof state);
    state.szReader = reader;
    state.dwCurrentState = SCARD_STATE_UNAWARE;
    for (;;) {
        LONG rv = SCardGetStatusChange(context, timeout_ms, &state, 1);
        if (rv != SCARD_S_SUCCESS) {
            fprintf(stderr, "no card in %s: %s\n", reader, pcsc_stringify_error(rv));
            return 1;
        }
        if (state.dwEventState & SCARD_STATE_PRESENT) return 0;
        state.dwCurrentState = state.dwEventState;
    }
}

/*
 * One command and its response, with the T=0 rules of EMV Book 1, 9.3:
 * 61xx fetches the data with GET RESPONSE, 6Cxx resends with the right Le.
 */
static LONG transmit(SCARDHANDLE card, DWORD protocol, const uint8_t *command, size_t command_len,
                     uint8_t *response, size_t *response_len) {
    const SCARD_IO_REQUEST *pci = protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    uint8_t apdu[261];
    if (command_len > sizeof apdu) return SCARD_E_INVALID_PARAMETER;
    memcpy(apdu, command, command_len);
    size_t apdu_len = command_len;
    size_t total = 0;
    for (int exchange = 0; exchange < 16; exchange++) {
        uint8_t received[258];
        DWORD received_len = sizeof received;
        LONG rv = SCardTransmit(card, pci, apdu, (DWORD)apdu_len, NULL, received, &received_len);
        if (rv != SCARD_S_SUCCESS) return rv;
        if (received_len < 2) return SCARD_F_COMM_ERROR;
        uint8_t sw1 = received[received_len - 2], sw2 = received[received_len - 1];
        size_t data_len = received_len - 2;
        if (sw1 == 0x6C && apdu_len >= 4) {
            /* Wrong Le: resend the same command with Le = SW2. */
            if (apdu_len == 4) apdu[apdu_len++] = sw2;
            else apdu[apdu_len - 1] = sw2;
            continue;
        }
        if (total + data_len + 2 > 258) return SCARD_E_INSUFFICIENT_BUFFER;
        memcpy(response + total, received, data_len);
        total += data_len;
        if (sw1 == 0x61) {
            /* More data: GET RESPONSE with Le = SW2. */
            const uint8_t get_response[5] = {0x00, 0xC0, 0x00, 0x00, sw2};
            memcpy(apdu, get_response, sizeof get_response);
            apdu_len = sizeof get_response;
            continue;
        }
        response[total++] = sw1;
        response[total++] = sw2;
        *response_len = total;
        return SCARD_S_SUCCESS;
    }
    return SCARD_F_COMM_ERROR;
}

static int run(struct emv_config *config, struct emv_ca_keys *keys, SCARDHANDLE card,
               DWORD protocol) {
    struct emv_transaction_inputs inputs;
    if (fill_purchase(config, 1250, &inputs) != 0) return 1;
    struct emv_transaction *tx = NULL;
    enum emv_error error = emv_transaction_new(config, keys, &inputs, &tx);
    if (error != EMV_OK) return fail("emv_transaction_new", error);

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
            uint8_t response[258];
            size_t response_len = 0;
            LONG rv = transmit(card, protocol, req.apdu, req.apdu_len, response, &response_len);
            if (rv == SCARD_S_SUCCESS) {
                error = emv_on_response(tx, response, response_len);
            } else {
                fprintf(stderr, "SCardTransmit: %s\n", pcsc_stringify_error(rv));
                error = emv_on_transport_error(tx);
            }
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
    const char *reader = argc > 1 ? argv[1] : "Virtual PCD 00 00";
    const char *capk_path = argc > 2 ? argv[2] : "test-cards/keys/capk.txt";

    size_t capk_len = 0;
    char *capk = read_file(capk_path, &capk_len);
    if (!capk) {
        perror(capk_path);
        return 1;
    }
    struct emv_config *config = NULL;
    struct emv_ca_keys *keys = NULL;
    enum emv_error error;
    size_t loaded = 0;
    int status = 1;
    if ((error = emv_config_default(&config)) != EMV_OK) {
        status = fail("emv_config_default", error);
    } else if ((error = emv_ca_keys_new(&keys)) != EMV_OK) {
        status = fail("emv_ca_keys_new", error);
    } else if ((error = emv_ca_keys_load_capk_txt(keys, capk, capk_len, &loaded)) != EMV_OK) {
        status = fail(capk_path, error);
    } else {
        SCARDCONTEXT context;
        SCARDHANDLE card;
        DWORD protocol = 0;
        LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &context);
        if (rv != SCARD_S_SUCCESS) {
            fprintf(stderr, "SCardEstablishContext: %s\n", pcsc_stringify_error(rv));
        } else {
            if (wait_for_card(context, reader, 10000) == 0) {
                rv = SCardConnect(context, reader, SCARD_SHARE_EXCLUSIVE,
                                  SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &protocol);
                if (rv != SCARD_S_SUCCESS) {
                    fprintf(stderr, "SCardConnect %s: %s\n", reader, pcsc_stringify_error(rv));
                } else {
                    printf("card: %s (T=%d), %zu CA keys, amount 12.50\n", reader,
                           protocol == SCARD_PROTOCOL_T0 ? 0 : 1, loaded);
                    status = run(config, keys, card, protocol);
                    SCardDisconnect(card, SCARD_RESET_CARD);
                }
            }
            SCardReleaseContext(context);
        }
    }
    emv_ca_keys_free(keys);
    emv_config_free(config);
    free(capk);
    return status;
}
