/* The model table. SBD and checksum per model follow the seed and Cisco's
 * field notes: 7940/7960 and Jabber predate Security by Default; 7945,
 * 7965, 7975 and the 88xx have it. The 79xx firmware shows the CTL as MD5,
 * the 88xx and Jabber as SHA1 (a choice written down in docs/phones.md). */
#include <stddef.h>
#include <strings.h>

#include "models.h"

static const ph_model models[] = {
    {"7940", "7940", "Cisco IP Phone 7940", false, PH_SUM_MD5},
    {"7960", "7960", "Cisco IP Phone 7960", false, PH_SUM_MD5},
    {"jabber", "Jabber", "Cisco Jabber (softphone)", false, PH_SUM_SHA1},
    {"7945", "7945", "Cisco IP Phone 7945", true, PH_SUM_MD5},
    {"7965", "7965", "Cisco IP Phone 7965", true, PH_SUM_MD5},
    {"7975", "7975", "Cisco IP Phone 7975", true, PH_SUM_MD5},
    {"8841", "8841", "Cisco IP Phone 8841", true, PH_SUM_SHA1},
    {"8845", "8845", "Cisco IP Phone 8845", true, PH_SUM_SHA1},
    {"8865", "8865", "Cisco IP Phone 8865", true, PH_SUM_SHA1},
};

const ph_model *ph_model_at(unsigned i) { return i < sizeof(models) / sizeof(models[0]) ? &models[i] : NULL; }

const ph_model *ph_model_find(const char *name)
{
    if (!name)
        return NULL;
    if (strncasecmp(name, "CP-", 3) == 0)
        name += 3;
    for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
        if (strcasecmp(name, models[i].name) == 0)
            return &models[i];
    return NULL;
}

const char *ph_checksum_name(ph_checksum c) { return c == PH_SUM_SHA1 ? "SHA1" : "MD5"; }
