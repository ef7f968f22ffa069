// The US Web Design System's behaviours the portal's pages use (issue 21), bundled by
// `make assets` (esbuild) into static/vendor/uswds/js/uswds-portal.min.js in place of the
// whole uswds.min.js: the header's phone menu (usa-header), the photo pickers (usa-file-input)
// and the skip link (usa-skipnav). No page uses another USWDS behaviour (accordions, modals,
// tooltips, date pickers, combo boxes, sortable tables...); one that starts to must be added
// here.
//
// Without JavaScript the header's Menu is a link to the navigation, which opens by CSS
// (:target, static/src/uswds-portal.scss). With this script <html> is marked .portal-js, so
// that rule no longer applies, and the script opens and closes the menu as USWDS does.
const navigation = require("../../node_modules/@uswds/uswds/packages/usa-header/src/index");
const fileInput = require("../../node_modules/@uswds/uswds/packages/usa-file-input/src/index");
const skipnav = require("../../node_modules/@uswds/uswds/packages/usa-skipnav/src/index");

window.uswdsPresent = true;

const MENU_LINKS = "a.usa-menu-btn, a.usa-nav__close";
const HIDDEN_BY_MENU = "data-nav-hidden";

// While the menu is open USWDS hides the rest of the page from screen readers (aria-hidden,
// marked data-nav-hidden); it is made inert too, so nothing hidden can take focus (axe:
// aria-hidden-focus). When the menu closes, focus goes back to the Menu button.
const inertWhileMenuOpen = () => {
  new MutationObserver((changes) => {
    let shown = false;
    changes.forEach(({ target }) => {
      const hidden = target.hasAttribute(HIDDEN_BY_MENU);
      target.inert = hidden;
      shown = shown || !hidden;
    });
    const menu = document.querySelector(".usa-menu-btn");
    const active = document.activeElement;
    const lost = !active || active === document.body || active.closest(".usa-nav");
    if (shown && lost && menu && menu.offsetParent !== null) {
      menu.focus();
    }
  }).observe(document.body, { attributeFilter: [HIDDEN_BY_MENU], subtree: true });
};

const start = () => {
  const { body } = document;
  // A menu opened by its link before this script ran stays open, now as the script's.
  const target = window.location.hash.slice(1);
  const opened = target && document.getElementById(decodeURIComponent(target));
  document.documentElement.classList.add("portal-js");
  [navigation, fileInput, skipnav].forEach((behavior) => behavior.on(body));
  inertWhileMenuOpen();
  // The Menu and Close links are the script's buttons now: no jump to the navigation, and
  // named and worked as buttons (Space too).
  document.querySelectorAll(MENU_LINKS).forEach((link) => {
    link.setAttribute("role", "button");
  });
  body.addEventListener("click", (event) => {
    if (event.target.closest(MENU_LINKS)) {
      event.preventDefault();
    }
  });
  body.addEventListener("keydown", (event) => {
    const link = event.key === " " && event.target.closest(MENU_LINKS);
    if (link) {
      event.preventDefault();
      link.click();
    }
  });
  if (
    opened &&
    opened.matches(".usa-nav") &&
    window.getComputedStyle(opened).display === "none"
  ) {
    navigation.toggleNav(true);
  }
};

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start, { once: true });
} else {
  start();
}
