/* Inline SVG charts (chart.h). */
#include "chart.h"

#include <string.h>

#include "html.h"

#define W 720
#define H 240
#define LEFT 56
#define RIGHT 16
#define TOP 12
#define BOTTOM 28

/* The day of an ISO time (its first 10 characters). */
static void day_label(struct evbuffer *b, const json_t *t)
{
    const char *s = json_string_value(t);
    char day[11] = "-";
    if (s && strlen(s) >= 10) {
        memcpy(day, s, 10);
        day[10] = '\0';
    }
    html_text(b, day);
}

void chart_ctl_history(struct evbuffer *b, const json_t *history)
{
    const json_t *times = json_object_get(history, "times"), *series = json_object_get(history, "series");
    size_t points = json_array_size(times), n = json_array_size(series);
    if (!n || points < 2) {
        evbuffer_add_printf(b, "<p id=\"no-chart\">No phone has downloaded a CTL yet: nothing to draw.</p>\n");
        return;
    }
    json_int_t ymax = 1;
    size_t i, k;
    const json_t *s, *v;
    json_array_foreach(series, i, s)
    {
        json_array_foreach(json_object_get(s, "phones"), k, v)
        {
            if (json_integer_value(v) > ymax)
                ymax = json_integer_value(v);
        }
    }
    const int pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM;
    evbuffer_add_printf(b, "<figure class=\"chart\"><svg id=\"ctl-history\" xmlns=\"http://www.w3.org/2000/svg\" "
                           "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
                           "aria-labelledby=\"ctl-history-title\"><title id=\"ctl-history-title\">Phones per CTL "
                           "over time</title>\n",
                        W, H, W, H);
    /* Axes, the top and middle of the count scale, the first and last day. */
    evbuffer_add_printf(b, "<path class=\"axis\" d=\"M%d %d V%d H%d\"/>\n", LEFT, TOP, TOP + ph, LEFT + pw);
    evbuffer_add_printf(b, "<path class=\"grid\" d=\"M%d %d H%d M%d %d H%d\"/>\n", LEFT, TOP, LEFT + pw, LEFT,
                        TOP + ph / 2, LEFT + pw);
    evbuffer_add_printf(b, "<text class=\"label\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%lld</text>\n", LEFT - 6,
                        TOP + 4, (long long)ymax);
    evbuffer_add_printf(b, "<text class=\"label\" x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>\n", LEFT - 6,
                        TOP + ph + 4);
    evbuffer_add_printf(b, "<text class=\"label\" x=\"%d\" y=\"%d\">", LEFT, H - 8);
    day_label(b, json_array_get(times, 0));
    evbuffer_add_printf(b, "</text><text class=\"label\" x=\"%d\" y=\"%d\" text-anchor=\"end\">", LEFT + pw, H - 8);
    day_label(b, json_array_get(times, points - 1));
    evbuffer_add_printf(b, "</text>\n");
    json_array_foreach(series, i, s)
    {
        evbuffer_add_printf(b, "<polyline class=\"s%zu%s\" data-ctl=\"", i,
                            json_is_true(json_object_get(s, "current")) ? " current" : "");
        html_json(b, json_object_get(s, "ctl_md5"));
        evbuffer_add_printf(b, "\" points=\"");
        json_array_foreach(json_object_get(s, "phones"), k, v)
        {
            long x = LEFT + (long)((double)pw * (double)k / (double)(points - 1));
            long y = TOP + ph - (long)((double)ph * (double)json_integer_value(v) / (double)ymax);
            evbuffer_add_printf(b, "%s%ld,%ld", k ? " " : "", x, y);
        }
        evbuffer_add_printf(b, "\"/>\n");
    }
    evbuffer_add_printf(b, "</svg><figcaption><ul class=\"legend\">");
    json_array_foreach(series, i, s)
    {
        const json_t *md5 = json_object_get(s, "ctl_md5"), *phones = json_object_get(s, "phones");
        evbuffer_add_printf(b, "<li><svg width=\"14\" height=\"14\" viewBox=\"0 0 14 14\"><rect class=\"s%zu\" "
                               "width=\"14\" height=\"14\"/></svg> ",
                            i);
        if (json_is_string(md5))
            html_text(b, json_string_value(md5));
        else
            evbuffer_add_printf(b, "other CTLs");
        if (json_is_true(json_object_get(s, "current")))
            evbuffer_add_printf(b, " (current)");
        evbuffer_add_printf(b, ": %lld phones</li>",
                            (long long)json_integer_value(json_array_get(phones, json_array_size(phones) - 1)));
    }
    evbuffer_add_printf(b, "</ul>Phones holding each CTL, counted from the time each downloaded it (the store keeps "
                           "each phone's last download only).</figcaption></figure>\n");
}
