"""The portal as an installable web app (issue 21): its manifest, service worker, offline page
and home-screen icons (drawn by ``portal.city.app_icons``)."""
