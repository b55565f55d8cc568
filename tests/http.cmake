# http.cmake — the HTTP side port (issue 13): /healthz, /metrics (checked
# with promtool), /map.json against dump, limits on hostile HTTP clients;
# and the live map page in headless Chromium.
smm_e2e_test(e2e_http test_http.py)
smm_e2e_test(e2e_watch test_watch.py)
smm_e2e_test(e2e_browser test_browser.py)
# The page's screenshot is kept here as the test's artifact.
set_property(TEST e2e_browser APPEND PROPERTY ENVIRONMENT
             "SMM_ARTIFACTS=${CMAKE_BINARY_DIR}/artifacts")
