/* Charts as inline SVG, drawn on the server: no script, no inline style
 * (colours come from classes in style.css), so the strict CSP holds. */
#ifndef CTLKIT_WEB_CHART_H
#define CTLKIT_WEB_CHART_H

#include <event2/buffer.h>
#include <jansson.h>

/* Phones per CTL over time from a view's "history" ({times, series}):
 * one line per CTL, the current one first and bold, with a legend. */
void chart_ctl_history(struct evbuffer *b, const json_t *history);

#endif
