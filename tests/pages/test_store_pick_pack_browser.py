"""The store app's work in a real Chromium on a handheld (360 × 640, touch, French): a web order from the queue to a
verified, labelled, shipped parcel, scanned with the keyboard wedge and verified by RFID reads through the real
ingest path; a wrong scan refused; a second picker locked out of a claimed order; a short pick that re-routes; a
network drop mid-pick whose scan is replayed and counts once. Screenshots go to var/screenshots/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from tests.pages.store_app import DEADLINE_MS, OTHER_STORE, STORE, StoreApp, screenshot, store_app, wait_for


def _scan(page: Any, code: str, *, again: bool = False) -> None:
    """What a keyboard-wedge scanner does: type the code and Enter, wherever the focus is. `again`: the same label
    scanned a second time by hand, a moment later (within 100 ms the page takes it for one label read twice)."""
    if again:
        page.wait_for_timeout(150)  # a person's second scan, not a synchronisation: nothing is awaited here
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def _listening(page: Any) -> None:
    """Wait until the page's scanner capture is on (its module ran): a scan typed before would be lost in part, as on
    a real handheld scanning within milliseconds of a page opening."""
    page.locator("html[data-scanner=on]").wait_for(state="attached", timeout=DEADLINE_MS)


def _line(page: Any, name: str) -> Any:
    return page.get_by_role("list", name="Articles à prélever, dans l'ordre du parcours").get_by_role("listitem").filter(has_text=name).first


def _start(page: Any, app: StoreApp, order: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name=f"Préparer la commande {order['id']}").tap()
    expect(page.get_by_role("heading", name=f"Préparer la commande {order['id']}")).to_be_visible(timeout=DEADLINE_MS)
    page.get_by_role("button", name="Commencer la préparation").tap()
    expect(page.get_by_label("Scannez un article, ou tapez son code")).to_be_visible(timeout=DEADLINE_MS)
    page.get_by_role("heading", level=1).tap()  # a tap unlocks sound and vibration; the focus is on no field


def test_a_web_order_is_picked_packed_verified_labelled_and_shipped(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    with store_app(env, tmp_path) as app:
        shirt = app.product("Chemise lin", 2, aisle="A10", bay="1", shelf="1")
        socks = app.product("Chaussettes laine", 1, aisle="A2", bay="3", shelf="2", size="39-42", colour="gris")
        order = app.order([(shirt, 2), (socks, 1)])
        shipment_id = order["shipments"][0]["id"]
        page = app.handheld()
        app.sign_in(page, "Léa")
        _start(page, app, order)
        lines = page.get_by_role("list", name="Articles à prélever, dans l'ordre du parcours").get_by_role("listitem")
        expect(lines.first).to_contain_text("Allée A2")  # walking order: A2 before A10
        expect(lines.first).to_contain_text("Taille 39-42")
        screenshot(page, "store-pick")

        _scan(page, "4006381333931")  # somebody else's product
        expect(page.get_by_role("alert")).to_contain_text("Pas dans cette commande", timeout=DEADLINE_MS)
        screenshot(page, "store-pick-wrong-scan")
        _scan(page, shirt.epcs[0])  # an RFID sled's EPC
        expect(page.get_by_role("status").filter(has_text="OK : Chemise lin")).to_be_visible(timeout=DEADLINE_MS)
        expect(_line(page, "Chemise lin")).to_contain_text("1 sur 2")
        _scan(page, shirt.epcs[0], again=True)  # the same tag again
        expect(page.get_by_role("alert")).to_contain_text("déjà compté", timeout=DEADLINE_MS)
        _scan(page, f"]C101{shirt.gtin}")  # a GS1-128 with its symbology identifier
        expect(_line(page, "Chemise lin")).to_contain_text("2 sur 2", timeout=DEADLINE_MS)
        _scan(page, shirt.gtin)
        expect(page.get_by_role("alert")).to_contain_text("Un de trop", timeout=DEADLINE_MS)
        finish = page.get_by_role("button", name="Tout est prélevé : emballer")
        expect(finish).to_be_hidden()  # the socks are still to pick: the count comes from the scans
        page.get_by_label("Scannez un article, ou tapez son code").fill(socks.gtin)  # typed by hand
        page.get_by_role("button", name="Vérifier").tap()
        expect(_line(page, "Chaussettes laine")).to_contain_text("1 sur 1", timeout=DEADLINE_MS)
        screenshot(page, "store-pick-done")
        finish.tap()

        expect(page.get_by_role("heading", name=f"Emballer la commande {order['id']}")).to_be_visible(timeout=DEADLINE_MS)
        page.get_by_label("Poste d'emballage").select_option("pack-station-1")
        page.get_by_role("button", name="Emballer ici").tap()
        expect(page.get_by_role("heading", name="Contrôle RFID")).to_be_visible(timeout=DEADLINE_MS)
        sscc = app.shipment(shipment_id)["parcels"][0]["sscc"]
        app.read([shirt.epcs[0]], antenna=2)  # one shirt on the pack table
        verdict = page.get_by_role("region", name="Contrôle RFID")
        expect(verdict).to_contain_text("Mauvaise quantité : Chemise lin (1 sur 2)", timeout=DEADLINE_MS)
        expect(verdict).to_contain_text("Manquant : Chaussettes laine (0 sur 1)")
        screenshot(page, "store-pack-incomplete")
        app.read([shirt.epcs[1], socks.epcs[0]], antenna=2)
        expect(page.get_by_role("button", name="Expédier")).to_be_visible(timeout=DEADLINE_MS)
        expect(verdict).to_contain_text("Complet : tout est dans le colis.")
        screenshot(page, "store-pack-verified")

        with page.expect_popup() as popup:
            page.get_by_role("link", name="Imprimer l'étiquette").tap()
        label = popup.value
        expect(label.get_by_role("img", name=f"GS1-128 barcode (00) {sscc[0]} {sscc[1:8]} {sscc[8:17]} {sscc[17]}")).to_be_visible(timeout=DEADLINE_MS)
        expect(label.get_by_role("article", name="Étiquette d'expédition")).to_contain_text(f"Commande {order['id']}")
        expect(label.get_by_role("article", name="Étiquette d'expédition")).to_contain_text("Camille Martin")
        label.set_viewport_size({"width": 397, "height": 560})  # A6 at 96 dpi
        screenshot(label, "store-label")
        pdf = label.request.get(f"{app.base}/store/label/{shipment_id}.pdf")
        assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
        text = PdfReader(_bytes_io(pdf.body())).pages[0].extract_text()
        assert f"Commande {order['id']}" in text and "Camille Martin" in text and "69002 Lyon" in text and sscc[1:8] in text
        label.close()

        page.get_by_role("button", name="Expédier").tap()
        expect(page.get_by_role("status")).to_contain_text("Expédié. Bravo !", timeout=DEADLINE_MS)
        screenshot(page, "store-shipped")
        assert app.shipment(shipment_id)["status"] == "shipped"
        assert (app.on_hand(shirt.gtin), app.on_hand(socks.gtin)) == (0, 0)


def _bytes_io(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


def test_a_second_picker_is_locked_out_of_a_claimed_order(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    with store_app(env, tmp_path) as app:
        shirt = app.product("Chemise lin", 1)
        order = app.order([(shirt, 1)])
        lea = app.handheld()
        app.sign_in(lea, "Léa")
        _start(lea, app, order)
        assert app.shipment(order["shipments"][0]["id"])["claimed_by"] == "Léa"  # starting claims it, before any scan
        marc = app.handheld()
        app.sign_in(marc, "Marc")
        task = marc.get_by_role("list", name="Tâches, les plus urgentes d'abord").get_by_role("listitem").filter(has_text=f"Commande {order['id']}")
        expect(task).to_contain_text("Léa s'en occupe")
        task.get_by_role("link", name=f"Préparer la commande {order['id']}").tap()
        expect(marc.get_by_role("alert")).to_contain_text(f"Léa prépare la commande {order['id']} depuis", timeout=DEADLINE_MS)
        expect(marc.get_by_role("button", name="Commencer la préparation")).to_have_count(0)
        expect(marc.get_by_label("Scannez un article, ou tapez son code")).to_have_count(0)
        screenshot(marc, "store-pick-locked")
        # Through the API with Marc's session, a scan is refused as well.
        refused = marc.request.post(f"{app.base}/api/v1/shipments/{order['shipments'][0]['id']}/scans",
                                    data={"scan_id": "marc-1", "code": shirt.gtin}, headers={"Origin": app.base})
        assert refused.status == 409 and refused.json()["error"]["code"] == "claimed"
        # Léa gives it back: Marc may take it over.
        lea.get_by_role("button", name="Rendre la commande").tap()
        expect(lea.get_by_role("heading", name="Tâches")).to_be_visible(timeout=DEADLINE_MS)
        marc.reload()
        marc.get_by_role("heading", level=1).tap()
        _scan(marc, shirt.gtin)  # scanning the first item starts picking (the claim), then counts it: no tap needed
        expect(marc.get_by_label("Scannez un article, ou tapez son code")).to_be_visible(timeout=DEADLINE_MS)
        expect(_line(marc, "Chemise lin")).to_contain_text("1 sur 1", timeout=DEADLINE_MS)
        marc.reload()  # the scan that started it is not counted again
        expect(_line(marc, "Chemise lin")).to_contain_text("1 sur 1", timeout=DEADLINE_MS)
        shipment = app.shipment(order["shipments"][0]["id"])
        assert (shipment["status"], shipment["claimed_by"], shipment["lines"][0]["picked_qty"]) == ("picking", "Marc", 1)


def test_a_short_pick_from_the_line_reroutes_the_missing_unit(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    with store_app(env, tmp_path) as app:
        shirt = app.product("Chemise lin", 2)
        order = app.order([(shirt, 2)])
        added = app.api("POST", "/stock/adjustments", json={"location_id": "DC-PARIS", "gtin": shirt.gtin, "delta": 5, "reason": "receipt"},
                        headers={"Idempotency-Key": "dc-receipt"})
        assert added.status_code == 201, added.text
        page = app.handheld()
        app.sign_in(page, "Léa")
        _start(page, app, order)
        _scan(page, shirt.epcs[0])
        expect(_line(page, "Chemise lin")).to_contain_text("1 sur 2", timeout=DEADLINE_MS)
        page.get_by_role("button", name="Impossible de prélever Chemise lin").tap()
        dialog = page.get_by_role("dialog", name="Impossible de prélever Chemise lin")
        expect(dialog).to_be_visible()
        dialog.get_by_label("Pas en rayon").check()
        expect(dialog.get_by_label("Combien ne pouvez-vous pas prélever ?")).to_have_value("1")
        screenshot(page, "store-short-pick")
        dialog.get_by_role("button", name="Confirmer").tap()
        expect(_line(page, "Chemise lin")).to_contain_text("1 sur 1", timeout=DEADLINE_MS)
        expect(page.get_by_role("button", name="Tout est prélevé : emballer")).to_be_visible()
        routed = app.api("GET", f"/orders/{order['id']}").json()
        elsewhere = [s for s in routed["shipments"] if s["location_id"] != STORE and s["status"] == "assigned"]
        assert [(s["location_id"], sum(ln["qty"] for ln in s["lines"])) for s in elsewhere] == [("DC-PARIS", 1)], routed
        tasks = app.api("GET", f"/stores/{STORE}/tasks").json()
        assert any(t["kind"] == "cycle_count" and t["gtin"] == shirt.gtin for t in tasks)  # not on the shelf: count it
        # The count, from the queue: one shirt is really there (the one picked, still reserved for the order).
        page.get_by_role("link", name="← Tâches").tap()
        page.get_by_label("Compté en rayon : Chemise lin").fill("1")
        screenshot(page, "store-cycle-count")
        page.get_by_role("button", name="Enregistrer le comptage").tap()
        expect(page.get_by_label("Compté en rayon : Chemise lin")).to_have_count(0, timeout=DEADLINE_MS)
        level = app.api("GET", f"/stock/{STORE}/{shirt.gtin}").json()
        assert (level["on_hand"], level["reserved"]) == (1, 1)


def test_a_scan_whose_answer_is_lost_is_replayed_and_counts_once(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    with store_app(env, tmp_path) as app:
        shirt = app.product("Chemise lin", 3)
        order = app.order([(shirt, 3)])
        shipment_id = order["shipments"][0]["id"]
        page = app.handheld()
        app.sign_in(page, "Léa")
        _start(page, app, order)
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=DEADLINE_MS)  # the app works offline from now on
        page.reload()  # kept on the device by the service worker as it is shown
        page.get_by_role("heading", level=1).tap()
        # The network drops after the server took the scan: the answer never reaches the handheld.
        delivered = []

        def lose_the_answer(route: Any) -> None:
            delivered.append(route.fetch().status)
            route.abort("internetdisconnected")

        page.route("**/scans", lose_the_answer)
        _scan(page, shirt.epcs[0])
        expect(page.get_by_role("status").filter(has_text=re.compile("^Pas de réseau"))).to_be_visible(timeout=DEADLINE_MS)
        wait_for(lambda: delivered, "the server to take the scan")
        assert app.shipment(shipment_id)["lines"][0]["picked_qty"] == 1
        # Still offline: a second scan is kept on the device, behind the first.
        page.context.set_offline(True)
        page.unroute("**/scans")
        _scan(page, shirt.epcs[1])
        expect(page.get_by_role("status").filter(has_text="2 actions sont gardées")).to_be_visible(timeout=DEADLINE_MS)
        page.reload()  # a reload without a network still opens the page, and the kept actions are still there
        expect(page.get_by_role("heading", name=f"Préparer la commande {order['id']}")).to_be_visible(timeout=DEADLINE_MS)
        expect(page.get_by_role("status").filter(has_text="2 actions sont gardées")).to_be_visible(timeout=DEADLINE_MS)
        screenshot(page, "store-pick-offline")
        page.context.set_offline(False)
        expect(page.get_by_role("status").filter(has_text=re.compile("^Pas de réseau"))).to_be_hidden(timeout=DEADLINE_MS)
        wait_for(lambda: app.shipment(shipment_id)["lines"][0]["picked_qty"] == 2, "the kept scans sent")
        page.reload()
        expect(_line(page, "Chemise lin")).to_contain_text("2 sur 3", timeout=DEADLINE_MS)
        assert app.shipment(shipment_id)["lines"][0]["picked_qty"] == 2  # the replayed first scan counted once


def test_a_click_and_collect_handover_with_the_code_and_one_refused_item(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    with store_app(env, tmp_path) as app:
        shirt = app.product("Chemise lin", 2)
        order = app.order([(shirt, 2)], pickup_location_id=STORE, customer_ref="Mme Durand")
        sid = order["shipments"][0]["id"]
        for action, body in (("start", None), ("picked", None), ("pack", {"station": "pack-station-1"})):
            done = app.api("POST", f"/shipments/{sid}/{action}", json=body)
            assert done.status_code == 200, done.text
        app.read(shirt.epcs, antenna=2)
        wait_for(lambda: app.shipment(sid)["status"] == "verified", "the parcel verified by its tags")
        assert app.api("POST", f"/shipments/{sid}/ready").status_code == 200
        code = app.api("GET", f"/orders/{order['id']}").json()["pickup"]["display"]

        page = app.handheld()
        app.sign_in(page, "Léa")
        page.get_by_role("link", name="Retraits en attente : 1").tap()
        expect(page.get_by_role("heading", name="Retraits")).to_be_visible(timeout=DEADLINE_MS)
        finder = page.get_by_label("Code de retrait, QR code, numéro de commande ou client")
        finder.fill("ZZZZ-ZZZZ")
        page.get_by_role("button", name="Chercher").tap()
        expect(page.get_by_role("status")).to_contain_text("Rien de ce qui attend ici", timeout=DEADLINE_MS)
        page.get_by_label("Code de retrait, QR code, numéro de commande ou client").fill("durand")  # the customer's name
        page.get_by_role("button", name="Chercher").tap()
        page.get_by_role("link", name=f"Remettre la commande {order['id']}").tap()
        page.get_by_label("Code de retrait du client").fill("ABCD-EFGH" if code != "ABCD-EFGH" else "ABCD-EFGJ")
        page.get_by_role("button", name="Remettre au client").tap()
        expect(page.get_by_role("alert")).to_contain_text("Ce code n'est pas celui de la commande", timeout=DEADLINE_MS)
        assert app.shipment(sid)["status"] == "ready_for_pickup"  # nothing handed over

        page.get_by_role("link", name="← Tâches").tap()  # the customer shows the QR code in their message: scanned into the finder
        page.get_by_role("link", name="Retraits en attente : 1").tap()
        qr = app.api("GET", f"/orders/{order['id']}").json()["pickup"]["qr_payload"]
        page.get_by_label("Code de retrait, QR code, numéro de commande ou client").fill(qr)
        page.get_by_role("button", name="Chercher").tap()
        expect(page.get_by_text("Le code du client correspond à cette commande.")).to_be_visible(timeout=DEADLINE_MS)
        page.get_by_label("Refusé par le client : Chemise lin").fill("1")
        page.get_by_label("Pourquoi : Chemise lin").select_option(label="Mauvaise taille")
        screenshot(page, "store-handover")
        page.get_by_role("button", name="Remettre au client").tap()
        expect(page.get_by_role("status")).to_contain_text("Remis. Remerciez le client !", timeout=DEADLINE_MS)
        expect(page.get_by_role("list", name="Refusé au comptoir")).to_contain_text("1 × Chemise lin refusé : de nouveau en vente dans ce magasin")
        screenshot(page, "store-handed-over")
        assert app.shipment(sid)["status"] == "collected"
        # The answer was a redirect to the handover's own page (post, redirect, get): a reload shows it again and
        # hands nothing over twice.
        expect(page).to_have_url(re.compile(rf"/store/pickups/{sid}$"))
        page.reload()
        expect(page.get_by_role("status")).to_contain_text("Remis. Remerciez le client !", timeout=DEADLINE_MS)
        expect(page.get_by_role("list", name="Refusé au comptoir")).to_contain_text("1 × Chemise lin refusé")
        level = app.api("GET", f"/stock/{STORE}/{shirt.gtin}").json()
        assert (level["on_hand"], level["reserved"], level["available"] + level["safety"]) == (1, 0, 1)  # the refused shirt is on sale again


def test_new_work_arrives_live_and_two_orders_are_picked_together(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    with store_app(env, tmp_path) as app:
        shirt = app.product("Chemise lin", 2)
        page = app.handheld()
        app.sign_in(page, "Léa")
        page.get_by_role("heading", name="Tâches").tap()  # the first tap unlocks the alert's sound
        first = app.order([(shirt, 1)])
        expect(page.get_by_role("link", name=f"Préparer la commande {first['id']}")).to_be_visible(timeout=DEADLINE_MS)  # no reload
        expect(page.get_by_role("status").filter(has_text="Nouveau travail")).to_contain_text("une commande à préparer")
        second = app.order([(shirt, 1)])
        expect(page.get_by_role("link", name=f"Préparer la commande {second['id']}")).to_be_visible(timeout=DEADLINE_MS)
        for order in (first, second):
            page.get_by_label(f"Ajouter la commande {order['id']} au lot").check()
        screenshot(page, "store-tasks-batch")
        page.get_by_role("button", name="Préparer ensemble les commandes cochées").tap()
        expect(page.get_by_role("heading", name="Préparer 2 commandes ensemble")).to_be_visible(timeout=DEADLINE_MS)
        totes = page.get_by_role("list", name="Bacs")
        expect(totes).to_contain_text(f"Bac 1, rouge : commande {first['id']}")
        expect(totes).to_contain_text(f"Bac 2, bleu : commande {second['id']}")
        page.get_by_role("button", name="Commencer la préparation de ces commandes").tap()
        expect(page.get_by_label("Scannez un article, ou tapez son code")).to_be_visible(timeout=DEADLINE_MS)
        page.get_by_role("heading", level=1).tap()
        _scan(page, shirt.epcs[0])
        expect(page.get_by_role("status")).to_contain_text("OK : Chemise lin, dans le bac 1 (rouge)", timeout=DEADLINE_MS)
        _scan(page, shirt.epcs[1])
        expect(page.get_by_role("status")).to_contain_text("OK : Chemise lin, dans le bac 2 (bleu)", timeout=DEADLINE_MS)
        expect(_line(page, "Chemise lin")).to_contain_text("2 sur 2")
        screenshot(page, "store-pick-batch")
        page.get_by_role("button", name="Tout est prélevé : terminé").tap()
        expect(page.get_by_role("heading", name="Tâches")).to_be_visible(timeout=DEADLINE_MS)
        assert [app.shipment(o["shipments"][0]["id"])["status"] for o in (first, second)] == ["picked", "picked"]


def test_a_return_at_another_store_is_on_sale_there_at_once(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    with store_app(env, tmp_path) as app:
        shirt = app.product("Chemise lin", 2)
        socks = app.product("Chaussettes laine", 1, size="39-42")
        order = app.order([(shirt, 1), (socks, 1)], currency="EUR", prices={shirt.gtin: "39.90", socks.gtin: "9.50"})
        sid = order["shipments"][0]["id"]
        for action, body in (("start", None), ("picked", None), ("pack", {"station": "pack-station-1"})):
            assert app.api("POST", f"/shipments/{sid}/{action}", json=body).status_code == 200
        app.read([shirt.epcs[0], socks.epcs[0]], antenna=2)
        wait_for(lambda: app.shipment(sid)["status"] == "verified", "the parcel verified by its tags")
        assert app.api("POST", f"/shipments/{sid}/ship").status_code == 200

        page = app.handheld()
        app.sign_in(page, "Inès")  # at Paris Rivoli, 400 km from the store that shipped it
        page.get_by_role("link", name="Retours clients").tap()
        expect(page.get_by_role("heading", name="Retours")).to_be_visible(timeout=DEADLINE_MS)
        page.get_by_role("heading", name="Retours").tap()
        _scan(page, shirt.epcs[0])  # the returned shirt's tag, read by the sled: it names the order
        expect(page.get_by_role("heading", name=f"Retour de la commande {order['id']}")).to_be_visible(timeout=DEADLINE_MS)
        shirt_line = page.get_by_role("list", name="Ce que le client a acheté").get_by_role("listitem").filter(has_text="Chemise lin")
        expect(shirt_line).to_contain_text("Étiquettes scannées : 1")
        page.get_by_label("Pourquoi : Chemise lin").select_option(label="Trop petit")
        page.get_by_label("Articles sans étiquette repris : Chaussettes laine").fill("1")  # the socks' tag was cut off
        page.get_by_label("État : Chaussettes laine").select_option(label="Abîmé : quarantaine")
        screenshot(page, "store-return-desk")
        page.get_by_role("button", name="Enregistrer le retour").tap()
        done = page.get_by_role("region", name="Retour enregistré")
        expect(done).to_contain_text("1 × Chemise lin : de nouveau en vente ici", timeout=DEADLINE_MS)
        expect(done).to_contain_text("1 × Chaussettes laine : abîmé, en quarantaine")
        expect(done).to_contain_text("Remboursement dû : 49,40 €")  # both come back: a damaged item is refunded too
        screenshot(page, "store-return-done")
        # Post, redirect, get: the desk's own page shows the return taken; a reload shows it again and takes nothing twice.
        expect(page).to_have_url(re.compile(rf"/store/returns/{order['id']}\?taken=\d+$"))
        page.reload()
        expect(page.get_by_role("region", name="Retour enregistré")).to_contain_text("Remboursement dû : 49,40 €", timeout=DEADLINE_MS)
        paris = app.api("GET", f"/stock/{OTHER_STORE}/{shirt.gtin}").json()
        assert (paris["on_hand"], paris["available"] + paris["safety"]) == (1, 1)  # on sale in Paris at once
        tag = app.api("GET", f"/tags/{shirt.epcs[0]}").json()
        assert (tag["location_id"], tag["state"]) == (OTHER_STORE, "in_stock")
        # The same return cannot be taken twice: the shirt has come back already.
        page.get_by_role("link", name="Un autre retour").tap()
        page.get_by_label("Numéro de commande, code de retrait, ou scannez un article rapporté").fill(str(order["id"]))
        page.get_by_role("button", name="Chercher").tap()
        page.get_by_role("heading", name=f"Retour de la commande {order['id']}").tap()
        expect(shirt_line).to_contain_text("Livrés 1 · déjà retournés 1 · retournables 0")
        _scan(page, shirt.epcs[0])
        expect(shirt_line).to_contain_text("Étiquettes scannées : 1", timeout=DEADLINE_MS)
        page.get_by_role("button", name="Enregistrer le retour").tap()
        expect(page.get_by_role("alert").first).to_contain_text("Non repris", timeout=DEADLINE_MS)
        assert app.api("GET", f"/stock/{OTHER_STORE}/{shirt.gtin}").json()["on_hand"] == 1


def test_the_scanner_alone_picks_and_packs_and_a_stage_kept_offline_is_done_when_back(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    """No tap from the queue to a packed parcel: Enter opens the most urgent task, the first scan starts picking, the
    last one focuses "All picked" and the pack station's sign packs it there. Then a pre-printed parcel label scanned
    while the network is down: the page says it is kept, and the parcel takes that label once the network is back."""
    from playwright.sync_api import expect

    from rfid.epc.gs1 import gtin_check_digit

    with store_app(env, tmp_path) as app:
        shirt = app.product("Chemise lin", 1)
        first = app.order([(shirt, 1)])
        page = app.handheld()
        app.sign_in(page, "Léa")
        expect(page.get_by_role("link", name=f"Préparer la commande {first['id']}")).to_be_focused(timeout=DEADLINE_MS)  # the most urgent
        page.keyboard.press("Enter")  # the handheld's Enter key
        expect(page.get_by_role("heading", name=f"Préparer la commande {first['id']}")).to_be_visible(timeout=DEADLINE_MS)
        _listening(page)
        _scan(page, shirt.epcs[0])  # starts picking (the claim), then counts
        expect(page.get_by_role("status").filter(has_text="scannez l’affiche du poste d’emballage")).to_be_visible(timeout=DEADLINE_MS)
        expect(page.get_by_role("button", name="Tout est prélevé : emballer")).to_be_focused()
        screenshot(page, "store-pick-scanner-only")
        _scan(page, "pack-station-1")  # the sign at the station
        expect(page.get_by_role("heading", name="Contrôle RFID")).to_be_visible(timeout=DEADLINE_MS)
        packed = app.shipment(first["shipments"][0]["id"])
        assert (packed["status"], packed["pack_station"], packed["lines"][0]["picked_qty"]) == ("packed", "pack-station-1", 1)

        signs = page.context.new_page()
        signs.goto(f"{app.base}/store/stations")
        sign = signs.get_by_role("article", name="Affiche du poste pack-station-1")
        expect(sign.get_by_role("img", name="Code 128 barcode pack-station-1")).to_be_visible(timeout=DEADLINE_MS)
        signs.set_viewport_size({"width": 397, "height": 560})  # A6 at 96 dpi
        screenshot(signs, "store-station-sign")
        signs.close()

        scarf = app.product("Écharpe laine", 1)
        second = app.order([(scarf, 1)])
        shipment_id = second["shipments"][0]["id"]
        page.goto(f"{app.base}/store/pick?shipment={shipment_id}")
        _listening(page)
        _scan(page, scarf.epcs[0])
        expect(page.get_by_role("button", name="Tout est prélevé : emballer")).to_be_focused(timeout=DEADLINE_MS)
        page.keyboard.press("Enter")  # the handheld's Enter key on the focused button
        expect(page.get_by_role("button", name="Emballer ici")).to_be_visible(timeout=DEADLINE_MS)
        _listening(page)
        screenshot(page, "store-pack-start")
        body = "1" + "0614141" + f"{shipment_id:09d}"
        label = body + str(gtin_check_digit(body))
        page.context.set_offline(True)
        _scan(page, f"]C100{label}")  # the pre-printed label's GS1-128
        expect(page.get_by_role("status").filter(has_text="Pas de réseau : c’est gardé sur l’appareil")).to_be_visible(timeout=DEADLINE_MS)
        expect(page.get_by_role("button", name="Emballer ici")).to_be_disabled()  # not done twice
        screenshot(page, "store-pack-kept-offline")
        assert app.shipment(shipment_id)["status"] == "picked"
        page.context.set_offline(False)
        expect(page.get_by_role("heading", name=f"Colis {label}")).to_be_visible(timeout=DEADLINE_MS)
        done = app.shipment(shipment_id)
        assert done["status"] == "packed" and [p["sscc"] for p in done["parcels"]] == [label]
