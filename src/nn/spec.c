/* Parser for model specs: "linear" or "mlp:W1,W2,...[:relu|tanh|sigmoid]". */
#include <string.h>

#include "core/internal.h"
#include "nn/layer.h"

#define SO_SPEC_FORM_ "expected \"linear\" or \"mlp:W1,W2,...[:relu|tanh|sigmoid]\""

/* Reads one width at *pos: decimal digits only, value in 1 .. SO_SPEC_MAX_WIDTH. The
 * value stops growing once past the limit, so any number of digits cannot overflow. */
static int parse_width(const char *spec, const char **pos, size_t *width)
{
    const char *p = *pos;
    size_t value = 0;

    if (*p == '\0')
        return so_fail_(SO_ERR_INVALID, "model spec \"%.200s\": layer width missing at the "
                        "end; " SO_SPEC_FORM_, spec);
    if (*p < '0' || *p > '9')
        return so_fail_(SO_ERR_INVALID, "model spec \"%.200s\": '%c' at character %zu does not "
                        "start a layer width; " SO_SPEC_FORM_, spec, *p, (size_t)(p - spec));
    for (; *p >= '0' && *p <= '9'; p++)
        if (value <= SO_SPEC_MAX_WIDTH)
            value = value * 10 + (size_t)(*p - '0');
    if (value == 0 || value > SO_SPEC_MAX_WIDTH)
        return so_fail_(SO_ERR_INVALID,
                        "model spec \"%.200s\": layer width \"%.*s\" is out of range, expected "
                        "1 .. %d; " SO_SPEC_FORM_,
                        spec, (int)(p - *pos > 40 ? 40 : p - *pos), *pos, SO_SPEC_MAX_WIDTH);
    *pos = p;
    *width = value;
    return SO_OK;
}

static int parse_activation(const char *spec, const char *name, so_layer_kind *kind)
{
    if (strcmp(name, "relu") == 0)
        *kind = SO_LAYER_RELU;
    else if (strcmp(name, "tanh") == 0)
        *kind = SO_LAYER_TANH;
    else if (strcmp(name, "sigmoid") == 0)
        *kind = SO_LAYER_SIGMOID;
    else
        return so_fail_(SO_ERR_INVALID,
                        "model spec \"%.200s\": unknown activation \"%.40s\", expected relu, "
                        "tanh or sigmoid; " SO_SPEC_FORM_, spec, name);
    return SO_OK;
}

int so_spec_parse_(const char *text, so_spec *spec)
{
    const char *p;
    so_spec parsed = {.num_hidden = 0, .activation = SO_LAYER_RELU};
    int rc;

    if (text == NULL)
        return so_fail_(SO_ERR_INVALID, "model spec is NULL; " SO_SPEC_FORM_);
    if (strcmp(text, "linear") == 0) {
        *spec = parsed;
        return SO_OK;
    }
    if (strncmp(text, "mlp:", 4) != 0)
        return so_fail_(SO_ERR_INVALID, "model spec \"%.200s\": unknown model type; "
                        SO_SPEC_FORM_, text);
    /* Widths separated by commas, then the end or ':' and an activation. */
    p = text + 4;
    for (;;) {
        if (parsed.num_hidden == SO_SPEC_MAX_HIDDEN)
            return so_fail_(SO_ERR_INVALID, "model spec \"%.200s\": more than %d hidden "
                            "layers; " SO_SPEC_FORM_, text, SO_SPEC_MAX_HIDDEN);
        rc = parse_width(text, &p, &parsed.hidden[parsed.num_hidden]);
        if (rc != SO_OK)
            return rc;
        parsed.num_hidden++;
        if (*p != ',')
            break;
        p++;
    }
    if (*p == ':') {
        rc = parse_activation(text, p + 1, &parsed.activation);
        if (rc != SO_OK)
            return rc;
    } else if (*p != '\0') {
        return so_fail_(SO_ERR_INVALID, "model spec \"%.200s\": unexpected '%c' at character "
                        "%zu; " SO_SPEC_FORM_, text, *p, (size_t)(p - text));
    }
    *spec = parsed;
    return SO_OK;
}
