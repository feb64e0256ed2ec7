// htmx extensions expect a global `htmx`; this module runs before them.
import htmx from "htmx.org";
window.htmx = htmx;
export default htmx;
