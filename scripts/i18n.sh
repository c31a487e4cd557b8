#!/bin/sh
# i18n.sh — refresh the message catalogues after adding or changing translatable strings.
#
# Usage: scripts/i18n.sh            (from anywhere; works on the repository it lives in)
#
# 1. extract: every _()/gettext/ngettext/_l()/lazy_gettext string of housingcredit/ and templates/ (see babel.cfg)
#    into translations/messages.pot;
# 2. update: merge the template into translations/zh_Hans_CN/LC_MESSAGES/messages.po (init it when missing).
#    New entries arrive empty, changed ones arrive marked fuzzy;
# 3. then translate them in messages.po (Simplified Chinese, government-service register: 保障家庭, 信用档案,
#    经办人, 评审人, 主管, 审计, 失信行为, 重点关注名单, 失信联合惩戒对象名单, 信用修复, 异议 …) and remove the
#    "#, fuzzy" marks you have checked.
#
# Compiling is a build step, never done by the app at start-up (the .mo files are not committed): this script
# compiles at its end, ./manage.sh at every install, the test session once (tests/conftest.py). tests/test_i18n.py fails while any string is untranslated, fuzzy or missing
# from the catalogue.
set -eu
cd "$(dirname "$0")/.."
PYBABEL="${PYBABEL:-.venv/bin/pybabel}"
[ -x "$PYBABEL" ] || PYBABEL=pybabel
"$PYBABEL" extract -F babel.cfg -k _l -k lazy_gettext --sort-by-file --no-wrap \
    --project=housingcredit --copyright-holder="housingcredit" --msgid-bugs-address="-" \
    -o translations/messages.pot .
PO=translations/zh_Hans_CN/LC_MESSAGES/messages.po
if [ -f "$PO" ]; then
    "$PYBABEL" update -i translations/messages.pot -d translations -l zh_Hans_CN --no-wrap --ignore-obsolete --no-fuzzy-matching
else
    "$PYBABEL" init -i translations/messages.pot -d translations -l zh_Hans_CN --no-wrap
fi
"$PYBABEL" compile -d translations || echo "warning: the catalogue did not compile yet"
echo "Now translate the empty and fuzzy entries in $PO, then run this script again (it compiles)"
