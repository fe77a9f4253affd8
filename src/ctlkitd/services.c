/* ctlkitd's service table (service.h): each row sits beside its service. */
#include "service.h"

/* Started in this order, freed in the reverse one. */
const daemon_service *const daemon_services[] = {&tftp_service_row, &tvs_service_row, &cluster_service_row,
                                                 &provider_service_row, &capf_service_row, &metrics_service_row};
const unsigned daemon_n_services = sizeof daemon_services / sizeof daemon_services[0];
