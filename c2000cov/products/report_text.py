"""Words of the compliance report, in Dutch (default) and English.

Every heading, label, column name and sentence that a person reads in the
report comes from here, so the two languages cannot drift apart: each entry
holds both, and a test checks that every key has both. Citations of
standards and the parameter sources of :mod:`c2000cov.scenario.sources` stay in the
language of the source.
"""

from __future__ import annotations

LANGS = ("nl", "en")

#: Headings, labels and sentences: key -> (Dutch, English).
TEXT: dict[str, tuple[str, str]] = {
    "title": ("C2000-dekkingsrapport", "C2000 coverage report"),
    "written_by": ("Geschreven door c2000cov {version} uit de bestanden van de runmap.",
                   "Written by c2000cov {version} from the run folder's files."),
    "run_facts": ("Gegevens van de run", "Run facts"),
    "run_time": ("run uitgevoerd (UTC)", "run made (UTC)"),
    "unknown": ("onbekend", "unknown"),
    "software": ("software van de run", "software of the run"),
    "git_commit": ("git-commit", "git commit"),
    "python": ("Python", "Python"),
    "bundle": ("bewijsbundel", "evidence bundle"),
    "bundle_sha": ("SHA-256 van MANIFEST.json", "SHA-256 of MANIFEST.json"),
    "bundle_created": ("bundel gemaakt (UTC)", "bundle made (UTC)"),
    "bundle_files": ("bestanden in de bundel", "files in the bundle"),
    "bundle_verified": ("bundel gecontroleerd", "bundle verified"),
    "bundle_ok": ("in orde: elk bestand komt overeen met het manifest",
                  "intact: every file matches the manifest"),
    "bundle_none": ("niet gebundeld; een rapport in een bundel kan de hash van die bundel niet "
                    "bevatten: het rapport naast de bundel (c2000cov bundle) vermeldt hem",
                    "not bundled; a report inside a bundle cannot hold that bundle's hash: the "
                    "report written next to the bundle (c2000cov bundle) states it"),
    "grid": ("rekenraster", "analysis grid"),
    "grid_crs": ("coördinatenstelsel", "CRS"),
    "grid_res": ("resolutie", "resolution"),
    "grid_shape": ("rijen × kolommen", "rows × columns"),
    "grid_bounds": ("begrenzing (xmin, ymin, xmax, ymax)", "bounds (xmin, ymin, xmax, ymax)"),
    "interference": ("zonnepaneelstoring", "solar-panel interference"),
    "contents": ("Inhoud", "Contents"),
    # summary and verdicts
    "summary": ("Samenvatting en oordeel", "Summary and verdict"),
    "summary_note": (
        "Een plek is gedekt voor een profiel als de kans dat zowel downlink als uplink "
        "sluiten (de locatiekans) het doel van het profiel haalt. ‘Gedekt’ is het aandeel van "
        "het beoordeelde oppervlak (buiten: alle grond behalve gebouwen; binnen: gebouwen) dat "
        "het doel haalt (covered_pct); de eis is het aandeel dat het moet halen. De "
        "gebiedsbetrouwbaarheid (area_reliability_pct) is de gemiddelde locatiekans over "
        "hetzelfde oppervlak: de kans op verbinding op een willekeurige plek. Het bereik "
        "geeft dezelfde grootheid als elk voorspeld niveau {delta} dB lager en hoger zou "
        "liggen (zie Onzekerheid).",
        "A location is covered for a profile when the probability that both downlink and "
        "uplink close (the location probability) reaches the profile's target. ‘Covered’ is "
        "the share of the evaluated area (outdoors: all ground except buildings; indoors: "
        "buildings) reaching the target (covered_pct); the requirement is the share that must "
        "reach it. The area reliability (area_reliability_pct) is the mean location "
        "probability over the same area: the chance of service at a random spot. The range "
        "gives the same figure with every predicted level {delta} dB lower and higher (see "
        "Uncertainty)."),
    "profile": ("profiel", "profile"),
    "target": ("doel locatiekans", "target location probability"),
    "covered": ("gedekt", "covered"),
    "range": ("bereik bij ∓{delta} dB", "range at ∓{delta} dB"),
    "required": ("eis", "requirement"),
    "verdict": ("oordeel", "verdict"),
    "margin": ("marge", "margin"),
    "holds": ("oordeel houdt stand bij ±{delta} dB", "verdict holds at ±{delta} dB"),
    "meets": ("voldoet", "meets"),
    "fails": ("voldoet niet", "fails"),
    "no_requirement": ("geen eis gesteld", "no requirement stated"),
    "yes": ("ja", "yes"),
    "no": ("nee", "no"),
    "whole_grid": ("hele raster", "whole grid"),
    "areas_meeting": ("gebieden die voldoen", "areas meeting it"),
    "verdicts": ("Oordeel per gebied", "Verdict per area"),
    "verdicts_note": (
        "Per gebied en profiel: het gedekte aandeel tegen de gestelde eis "
        "([report] required_covered_pct in het scenario). Marge = gedekt − eis in "
        "procentpunten (pp); negatief betekent dat het gebied de eis niet haalt. ‘Gedekt "
        "bij −{delta} dB’ en ‘+{delta} dB’: hetzelfde aandeel als elk voorspeld niveau zoveel "
        "lager of hoger ligt.",
        "Per area and profile: the covered share against the stated requirement ([report] "
        "required_covered_pct in the scenario). Margin = covered − requirement in percentage "
        "points (pp); negative means the area fails. ‘Covered at −{delta} dB’ and "
        "‘+{delta} dB’: the same share with every predicted level that much lower or "
        "higher."),
    "no_requirement_note": (
        "Het scenario stelt voor dit profiel geen eis ([report] required_covered_pct); "
        "het rapport geeft de cijfers zonder oordeel.",
        "The scenario states no requirement for this profile ([report] "
        "required_covered_pct); the report gives the figures without a verdict."),
    "area": ("gebied", "area"),
    "covered_minus": ("gedekt bij −{delta} dB", "covered at −{delta} dB"),
    "covered_plus": ("gedekt bij +{delta} dB", "covered at +{delta} dB"),
    # uncertainty
    "uncertainty": ("Onzekerheid", "Uncertainty"),
    "unc_sigma": (
        "Locatievariabiliteit. De schaduwfading rond de voorspelde mediaan is lognormaal "
        "met per profiel σ (tabel). Zij zit al in elk cijfer: een pixel telt als gedekt "
        "als de kans op verbinding, gegeven σ, het doel haalt. De cijfers zijn geen "
        "steekproef maar exacte oppervlaktesommen van die kansen, dus zonder "
        "steekproeffout. σ zelf is een planningswaarde, niet gemeten in dit gebied; met "
        "gebouwen expliciet in het oppervlak is de resterende σ eerder 5,5 dB dan 8 dB "
        "(DOMAIN.md). Voor binnenprofielen komt de spreiding van de gebouwindringing erbij.",
        "Location variability. Shadow fading around the predicted median is lognormal with "
        "the profile's σ (table). It is inside every figure: a pixel counts as covered when "
        "its probability of a connection, given σ, reaches the target. The figures are no "
        "sample but exact area sums of those probabilities, so they carry no sampling "
        "error. σ itself is a planning value, not measured in this area; with buildings "
        "explicit in the surface the residual σ is nearer 5.5 dB than 8 dB (DOMAIN.md). "
        "Indoor profiles add the spread of the building entry loss."),
    "unc_validation": (
        "Validatie van het model. {validation} Dit toont dat de code de aanbeveling correct "
        "uitrekent; het zegt niets over hoe goed de aanbeveling het echte signaal in dit "
        "gebied voorspelt. Metingen (drive tests) van C2000 zijn niet openbaar en zijn niet "
        "gebruikt: de voorspelfout van het model tegen metingen is voor deze run onbekend.",
        "Model validation. {validation} This shows that the code computes the "
        "recommendation correctly; it says nothing about how well the recommendation "
        "predicts the real signal in this area. C2000 measurements (drive tests) are not "
        "public and were not used: the model's prediction error against measurements is "
        "unknown for this run."),
    "unc_sensitivity": (
        "Gevoeligheid. Daarom geeft het rapport bij elk gedekt aandeel ook de waarde als elk "
        "voorspeld niveau {delta} dB lager en hoger ligt ([report] sensitivity_db, "
        "aangenomen). Dat is een gevoeligheid, geen betrouwbaarheidsinterval. Het is "
        "berekend met de σ van het profiel; voor binnenprofielen is de totale spreiding "
        "groter, dus het werkelijke effect kleiner (het bereik is ruim genomen).",
        "Sensitivity. The report therefore gives each covered share also with every "
        "predicted level {delta} dB lower and higher ([report] sensitivity_db, assumed). "
        "That is a sensitivity, not a confidence interval. It is computed with the "
        "profile's σ; indoor profiles have a larger total spread, so the real effect is "
        "smaller (the range is generous)."),
    "sigma": ("locatievariabiliteit σ", "location variability σ"),
    # maps
    "maps": ("Kaarten per profiel", "Maps per profile"),
    "maps_note": (
        "Dekkingsklasse per pixel (de klassenband van de run), met de grenzen van de klassen. "
        "Lichtgrijs: niet beoordeeld (binnenprofielen: geen gebouw). Coördinaten in km in het "
        "coördinatenstelsel van de run; gebiedsgrenzen als lijnen.",
        "Coverage class per pixel (the run's class band), with the class limits. Light grey: "
        "not evaluated (indoor profiles: no building). Coordinates in km in the run's CRS; "
        "area boundaries as lines."),
    "map_of": ("Dekkingsklasse: {profile}", "Coverage class: {profile}"),
    "class_good": ("goed", "good"),
    "class_reduced": ("beperkt", "reduced"),
    "class_poor": ("slecht", "poor"),
    "class_none": ("geen", "none"),
    "class_nodata": ("niet beoordeeld", "not evaluated"),
    "location_probability": ("locatiekans", "location probability"),
    # areas and the rest
    "areas": ("Dekking per gebied", "Coverage per area"),
    "areas_note": (
        "Exacte, oppervlaktegewogen cijfers: pixels op de grens van een gebied tellen naar "
        "het deel van hun oppervlak dat erbinnen ligt. ‘Onder doel’ is het beoordeelde "
        "oppervlak dat het doel niet haalt; ‘uplink beperkend’ het deel daarvan waar de "
        "uplink de beperkende richting is.",
        "Exact, area-weighted figures: pixels on an area's boundary count by the share of "
        "their area inside it. ‘Below target’ is the evaluated area that misses the target; "
        "‘uplink limiting’ the share of it where the uplink is the limiting direction."),
    "no_areas": ("Geen areas_coverage.csv in de runmap.", "No areas_coverage.csv in the run "
                 "folder."),
    "profile_heading": ("Profiel {profile}", "Profile {profile}"),
    "covered_plot": ("gedekt aandeel (% van het beoordeelde oppervlak dat het doel haalt)",
                     "covered share (% of the evaluated area reaching the target)"),
    "cdf": ("Verdeling van de locatiekans", "Distribution of the location probability"),
    "cdf_note": ("Aandeel van het beoordeelde oppervlak met locatiekans hoogstens x, per "
                 "profiel (gestreept: nacht, indien aanwezig; stippellijn: doel).",
                 "Share of the evaluated area whose location probability is at most x, per "
                 "profile (dashed: night, when present; dotted: target)."),
    "cdf_x": ("locatiekans (stippellijn: doel)", "location probability (dotted: target)"),
    "cdf_y": ("% van beoordeeld oppervlak met locatiekans ≤ x",
              "% of evaluated area with location probability ≤ x"),
    "night": ("nacht", "night"),
    "no_rasters": ("Geen dekkingsrasters in de runmap.", "No coverage rasters in the run "
                   "folder."),
    "whatif": ("Wat-als: voor en na", "What-if: before and after"),
    "whatif_note": (
        "Uit delta_areas.csv: gedekt aandeel van het basisscenario (voor) en van het "
        "wat-als-scenario (na); zonder basis-/nieuw-kolommen is ‘na’ deze run en voor = na − "
        "verschil.",
        "From delta_areas.csv: covered share of the base scenario (before) and of the "
        "what-if (after); where the file has no base/new columns, ‘after’ is this run and "
        "before = after − difference."),
    "before": ("voor", "before"),
    "after": ("na", "after"),
    "sunny": ("Zonnige dag en nacht", "Sunny day and night"),
    "sunny_note": ("Storing van zonnepanelen is er alleen overdag: ‘gedekt’ is de ingestelde "
                   "(zonnige) toestand, ‘gedekt ’s nachts’ de toestand zonder PV-emissie.",
                   "Solar-panel interference is daytime-only: ‘covered’ is the configured "
                   "(sunny) state, ‘covered at night’ the state without PV emission."),
    "mast_noise": ("Ruisverhoging van masten door zonnepanelen",
                   "Mast noise rise from solar-panel interference"),
    "mast_noise_note": ("Ongevoeliger worden van de mastontvanger, D = 10 log10(1 + I/N); de "
                        "grootste bronnen met hun aandeel in het storingsvermogen.",
                        "Desensitisation of the mast receiver, D = 10 log10(1 + I/N); the top "
                        "sources with their share of the interference power."),
    "n1": ("Uitval van één mast (N-1)", "Mast outage (N-1) ranking"),
    "n1_note": ("Gedekt oppervlak dat verloren gaat als één mast uitvalt, grootste verlies "
                "eerst.", "Covered area lost when one mast is out of service, largest loss "
                "first."),
    "dead_zones": ("Dode zones", "Dead zones"),
    "dead_zones_heading": ("Profiel {profile}: {n} zones, {km2} km² (grootste {shown} "
                           "getoond)", "Profile {profile}: {n} zones, {km2} km² (largest "
                           "{shown} listed)"),
    "no_dead_zones": ("Geen dead_zones.gpkg in de runmap.", "No dead_zones.gpkg in the run "
                      "folder."),
    "models": ("Modellen en edities", "Models and editions"),
    "model_used": ("Gebruikt propagatiemodel", "Propagation model used"),
    "module": ("module", "module"),
    "edition": ("aanbeveling / editie", "recommendation / edition"),
    "validation": ("Validatiestatus", "Validation status"),
    "validation_text": (
        "De geïnstalleerde {rec} is doorgerekend op de validatiegegevens van ITU-R Study "
        "Group 3 die met deze versie meekomen: {passed} van {cases} gevallen reproduceren het "
        "referentie-basistransmissieverlies binnen {tol} dB; grootste afwijking {dev} dB "
        "({worst}).",
        "The installed {rec}, run on the ITU-R Study Group 3 validation data shipped with this "
        "version: {passed} of {cases} cases reproduce the reference basic transmission loss "
        "within {tol} dB; largest deviation {dev} dB ({worst})."),
    "validation_missing": ("De validatiegegevens zijn niet met deze kopie geïnstalleerd.",
                           "The validation data is not installed with this copy."),
    "limitations": ("Beperkingen", "Limitations"),
    "parameters": ("Parameters en bronnen", "Parameters and sources"),
    "parameters_note": (
        "Elke parameter van het scenario zoals de run hem gebruikte. ‘Herkomst’ zegt waar de "
        "waarde vandaan komt: het scenariobestand, een optie op de opdrachtregel of de "
        "standaardwaarde; bij een afwijkende waarde staat de standaard erbij. De bron van de "
        "standaardwaarden is {domain}. {n_assumed} standaardwaarden zonder openbare bron zijn "
        "gemarkeerd als ‘aangenomen’.",
        "Every scenario parameter as the run used it. ‘Origin’ says where the value came "
        "from: the scenario file, a command-line option or the default; where the value "
        "differs from the default, the default is given too. The defaults' source is "
        "{domain}. {n_assumed} defaults without a public source are marked ‘assumed’."),
    "parameter": ("parameter", "parameter"),
    "value": ("gebruikte waarde", "value used"),
    "origin": ("herkomst", "origin"),
    "default_source": ("standaardwaarde en bron", "default and its source"),
    "origin_scenario": ("scenariobestand", "scenario file"),
    "origin_override": ("opdrachtregel", "command line"),
    "origin_default": ("standaardwaarde", "default"),
    "origin_unknown": ("onbekend (run.json zonder herkomst)", "unknown (run.json without "
                       "origins)"),
    "differs": ("wijkt af van de standaard {default}", "differs from the default {default}"),
    "same_as_default": ("gelijk aan de standaard", "same as the default"),
    "no_default": ("geen standaard", "no default"),
    "assumed": ("aangenomen", "assumed"),
    "no_source": ("geen bron", "no source"),
    "not_set": ("(niet gezet)", "(not set)"),
    "files": ("Bestanden", "Files"),
    "files_note": ("De bestanden van de runmap toen dit rapport werd geschreven (SHA-256).",
                   "The run folder's files when this report was written (SHA-256)."),
    "file": ("bestand", "file"),
    "size": ("grootte", "size"),
    "bytes": ("bytes", "bytes"),
}

#: Column labels of the run folder's tables: column -> (Dutch, English); units are added
#: from the column name's unit token.
COLUMNS: dict[str, tuple[str, str]] = {
    "area_name": ("gebied", "area"),
    "profile": ("profiel", "profile"),
    "area_km2": ("oppervlakte", "area"),
    "evaluated_km2": ("beoordeeld", "evaluated"),
    "covered_km2": ("gedekt", "covered"),
    "covered_pct": ("gedekt", "covered"),
    "area_reliability_pct": ("gebiedsbetrouwbaarheid", "area reliability"),
    "p_cover_mean": ("gemiddelde locatiekans", "mean location probability"),
    "dead_zone_km2": ("onder doel", "below target"),
    "ul_limited_pct": ("uplink beperkend", "uplink limiting"),
    "dead_zone_count": ("dode zones", "dead zones"),
    "dead_zone_largest_km2": ("grootste dode zone", "largest dead zone"),
    "dead_zone_largest_id": ("grootste dode zone (id)", "largest dead zone (id)"),
    "population": ("inwoners", "population"),
    "population_evaluated": ("inwoners beoordeeld", "population evaluated"),
    "population_covered": ("inwoners gedekt", "population covered"),
    "population_covered_pct": ("inwoners gedekt", "population covered"),
    "road_km": ("weglengte", "road length"),
    "road_uncovered_km": ("weg ongedekt", "road uncovered"),
    "road_uncovered_pct": ("weg ongedekt", "road uncovered"),
    "covered_pct_night": ("gedekt ’s nachts", "covered at night"),
    "area_reliability_pct_night": ("gebiedsbetrouwbaarheid ’s nachts",
                                   "area reliability at night"),
    "sunny_loss_pp": ("verlies op zonnige dag", "loss on a sunny day"),
    "zone_id": ("zone", "zone"),
    "n_pixels": ("pixels", "pixels"),
    "p_cover_min": ("laagste locatiekans", "lowest location probability"),
    "p_cover_median": ("mediane locatiekans", "median location probability"),
    "limiting": ("beperkende richting", "limiting direction"),
    "ul_limited_share": ("aandeel uplink beperkend", "share uplink limiting"),
    "class": ("klasse (meeste oppervlak)", "class (largest share)"),
    "class_worst": ("slechtste klasse", "worst class"),
    "share_reduced_pct": ("aandeel beperkt", "share reduced"),
    "share_poor_pct": ("aandeel slecht", "share poor"),
    "share_none_pct": ("aandeel geen", "share none"),
    "nearest_mast_id": ("dichtstbijzijnde mast", "nearest mast"),
    "nearest_mast_dist_m": ("afstand tot die mast", "distance to that mast"),
    "areas": ("gebieden", "areas"),
    "mast_id": ("mast", "mast"),
    "d_ul_db": ("ruisverhoging uplink", "uplink noise rise"),
    "i_dbm": ("storingsvermogen", "interference power"),
    "n_dbm": ("ruisvloer", "noise floor"),
    "lost_km2": ("verlies bij uitval", "lost when out"),
    "lost_pct": ("verlies bij uitval", "lost when out"),
    "areas_affected": ("getroffen gebieden", "areas affected"),
    "rank": ("rang", "rank"),
    "covered_pct_before": ("gedekt voor", "covered before"),
    "covered_pct_after": ("gedekt na", "covered after"),
    "delta_covered_pct": ("verschil gedekt", "change in covered"),
    "covered_km2_base": ("gedekt voor", "covered before"),
    "covered_km2_new": ("gedekt na", "covered after"),
    "delta_covered_km2": ("verschil gedekt", "change in covered"),
    "covered_pct_base": ("gedekt voor", "covered before"),
    "covered_pct_new": ("gedekt na", "covered after"),
}

#: Plain names of the usual profile keys (the key is shown beside them).
PROFILES: dict[str, tuple[str, str]] = {
    "handheld_outdoor": ("portofoon buiten", "handheld outdoors"),
    "handheld_indoor": ("portofoon binnen", "handheld indoors"),
    "in_car": ("mobilofoon in voertuig", "in-car radio"),
}

#: What the models leave out or assume; the report lists these under Limitations.
LIMITATIONS: tuple[tuple[str, str], ...] = (
    ("Propagatie over het gebied: ITU-R P.1812-8 vrije ruimte plus delta-Bullington-diffractie "
     "bij p = 50 % van de tijd; troposcatter, ducting en laagreflectie zijn weggelaten (zij "
     "veranderen Lb met minder dan 0,1 dB op paden tot 30 km bij 390 MHz, gemeten op de "
     "ITU-R-validatieprofielen en synthetische C2000-paden).",
     "Area propagation: ITU-R P.1812-8 free space plus delta-Bullington diffraction at "
     "p = 50 % time; troposcatter, ducting and layer reflection are left out (they change Lb "
     "by under 0.1 dB on paths up to 30 km at 390 MHz, measured on the ITU-R validation "
     "profiles and synthetic C2000 paths)."),
    ("Het oppervlak is terrein plus gebouwvoetafdrukken, gerasterd op de resolutie van het "
     "raster (regel: pixelmidden); bomen en andere begroeiing zitten niet in het profiel "
     "tenzij een DSM is gegeven. Een ontvanger staat op maaiveld plus zijn hoogte, naast "
     "(niet in) een gebouw op zijn eigen pixel.",
     "The surface is terrain plus building footprints rasterised at the grid resolution "
     "(pixel-centre rule); trees and other clutter are not in the profile unless a DSM is "
     "given. A receiver stands at ground level plus its height, next to (not inside) a "
     "building on its own pixel."),
    ("Locatievariabiliteit is lognormaal met de σ van het profiel; de schaduwfading is voor "
     "downlink en uplink gelijk genomen; de gebouwindringing (ITU-R P.2109) telt als haar "
     "mediaan plus een lognormale spreiding, passend op haar 50 %- en 90 %-punten.",
     "Location variability is lognormal with the profile's sigma; shadowing is taken as the "
     "same for downlink and uplink; the building entry loss (ITU-R P.2109) enters as its "
     "median plus a lognormal spread fitted to its 50 % and 90 % points."),
    ("Antennediagrammen combineren horizontale en verticale doorsneden met de sommatiemethode; "
     "gain_dbi in het mastenbestand geeft de maximale versterking.",
     "Antenna patterns combine horizontal and vertical cuts by the summing method; the masts "
     "file's gain_dbi sets the maximum gain."),
    ("Emissie van zonnepanelen: ruisachtig, geschaald vanaf de EN 55011-klasse-B-limiet per "
     "25 kHz, apparaten tellen op als vermogen, constant over de dag met sun_factor; binnen "
     "wordt de storing niet verminderd door de gebouwindringing. Emissie boven de limiet per "
     "installatie is een invoer, hier niet gemeten.",
     "Solar-panel emission: noise-like, scaled from the EN 55011 class B limit per 25 kHz, "
     "devices add as power, constant over the day at sun_factor; indoors the interference is "
     "not reduced by the building entry loss. Per-installation emission above the limit is "
     "an input, not measured here."),
    ("Co-kanaalstoring tussen C2000-cellen, verkeersbelasting en handover zijn niet "
     "gemodelleerd; een pixel is gedekt als één mast beide richtingen sluit.",
     "Co-channel interference between C2000 cells, traffic load and handover are not "
     "modelled; a pixel is covered when one mast closes both directions."),
    ("Radiometeorologie (dN, N0) en de andere (aangenomen) standaardwaarden bij de parameters "
     "komen niet uit ITU-R-kaarten.",
     "Radio-meteorology (dN, N0) and the other (assumed) defaults listed with the parameters "
     "are not taken from ITU-R maps."),
)


def texts(lang: str) -> dict[str, str]:
    """The report's words in one language (``nl`` or ``en``)."""
    i = LANGS.index(lang)
    return {k: v[i] for k, v in TEXT.items()}


def column_label(column: str, lang: str) -> str:
    """Plain name of a table column (its key with spaces when it has none)."""
    pair = COLUMNS.get(column)
    return pair[LANGS.index(lang)] if pair else column.replace("_", " ")


def profile_label(profile: str, lang: str) -> str:
    """``portofoon buiten (handheld_outdoor)``; an unknown key as it is."""
    pair = PROFILES.get(profile)
    return f"{pair[LANGS.index(lang)]} ({profile})" if pair else profile
