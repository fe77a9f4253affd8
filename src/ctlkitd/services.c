/* ctlkitd's service table (service.h): each row sits beside its service. */
#include "service.h"

/* Started in this order, freed in the reverse one. Phone tracking first:
 * TFTP and TVS wire themselves to it, and it outlives their threads. */
const daemon_service *const daemon_services[] = {&phone_track_service_row, &tftp_service_row, &tvs_service_row,
                                                 &cluster_service_row,     &provider_service_row, &capf_service_row,
                                                 &metrics_service_row};
const unsigned daemon_n_services = sizeof daemon_services / sizeof daemon_services[0];
