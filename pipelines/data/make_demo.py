"""Generate curate's demo dataset: pipelines/data/demo/part-0000{0,1,2}.parquet.

About 4,000 short documents (columns id, text, label, source) with planted problems for
every curation stage: other languages, exact and case/whitespace duplicates,
near-duplicates, junk for quality rules, label noise, and two rows of HTML/script text.
Nothing in the files says which rows are planted; the script prints the counts.

Deterministic: one `random.Random(2026)`, no network, standard library + polars only.
Running it again with the same polars version writes byte-identical files.

    python pipelines/data/make_demo.py
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import polars as pl

SEED = 2026
OUT_DIR = Path(__file__).resolve().parent / "demo"
SHARD_SIZES = (1400, 1330, 1270)  # rows per part file, 4,000 in all
ZSTD_LEVEL = 10

# Planted rows (everything else is a clean document).
N_EXACT_DUP = 240  # 6 %: byte-identical copies of another row's text
N_CASE_DUP = 80  # 2 %: copies that differ only in case or whitespace
N_NEAR_EDIT = 160  # near-duplicates: 5-15 % of words inserted, deleted or substituted
N_NEAR_FOOTER = 80  # near-duplicates: a boilerplate footer appended
JUNK_COUNTS = {  # 8 % in all
    "null": 6,
    "empty": 20,
    "short": 50,
    "lorem_ipsum": 30,
    "symbols": 30,
    "nav_menu": 35,
    "repeated": 40,
    "bullets": 35,
    "code": 30,
    "no_terminal_punct": 30,
    "spam_caps": 14,
}
N_HTML = 2  # <script> / <img onerror> inside otherwise normal text
NON_ENGLISH_SHARE = 0.25  # of clean documents
LABEL_NOISE_RATE = 0.05  # of clean documents get a random other label
MAX_SENTENCE_OVERLAP = 0.5  # length-weighted Jaccard of two clean docs' sentence sets
NEAR_DUP_MIN_WORDS = 30

LABELS = ["sports", "science", "politics", "cooking", "technology", "travel", "health", "finance"]
TOPIC_WEIGHTS = {"sports": 1.3, "science": 0.9, "politics": 1.2, "cooking": 0.6,
                 "technology": 1.2, "travel": 0.8, "health": 1.0, "finance": 1.0}
SOURCES = ["news", "forum", "wiki", "web"]
SOURCE_BY_LABEL = {  # weights news, forum, wiki, web: slices by source differ in topic
    "politics": (5, 1, 2, 2), "finance": (5, 1, 2, 2), "science": (2, 1, 5, 2),
    "sports": (4, 3, 1, 2), "technology": (3, 2, 2, 3), "health": (3, 1, 3, 3),
    "cooking": (1, 3, 1, 5), "travel": (1, 3, 2, 4),
}
SENTENCES_EN = {"forum": (2, 5), "web": (2, 8), "news": (3, 9), "wiki": (5, 12)}
SENTENCES_OTHER = (2, 4)
JUNK_SOURCES = {  # weights news, forum, wiki, web; forum carries most junk
    "default": (1, 5, 1, 3), "short": (0, 8, 0, 2), "nav_menu": (3, 1, 1, 6), "code": (0, 4, 3, 3),
}
COPY_SOURCES = {  # where copies of a document turn up (or the original's source)
    "exact_dup": (1, 3, 1, 5), "case_dup": (1, 4, 1, 4), "near_edit": (2, 3, 1, 4), "near_footer": (3, 0, 0, 5),
}

# ---------------------------------------------------------------------------------------
# Slot values for templated sentences: {name} {city} {n} {num} {big} {pct} {year} {day}
# ---------------------------------------------------------------------------------------

NAMES = ["Maria Lopez", "James Carter", "Aisha Khan", "Tomasz Nowak", "Elena Rossi", "David Kim",
         "Sofia Andersson", "Lukas Weber", "Priya Patel", "Omar Haddad", "Chloe Martin",
         "Daniel Okafor", "Hannah Schmidt", "Mateo Silva", "Yuki Tanaka", "Grace Liu",
         "Noah Williams", "Ingrid Larsen", "Pedro Alves", "Fatima Benali"]
CITIES = ["Lisbon", "Chicago", "Osaka", "Nairobi", "Melbourne", "Toronto", "Krakow", "Lyon",
          "Seville", "Hamburg", "Bristol", "Denver", "Porto", "Gothenburg", "Bologna",
          "Rotterdam", "Vancouver", "Auckland", "Cape Town", "Valencia"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
SLOTS = {
    "name": lambda r: r.choice(NAMES),
    "city": lambda r: r.choice(CITIES),
    "day": lambda r: r.choice(DAYS),
    "n": lambda r: str(r.randint(2, 9)),
    "num": lambda r: str(r.randint(10, 95)),
    "big": lambda r: str(r.randint(120, 9800)),
    "pct": lambda r: str(r.randint(2, 45)),
    "year": lambda r: str(r.randint(2014, 2026)),
}

# ---------------------------------------------------------------------------------------
# English sentence pools, 28 per topic
# ---------------------------------------------------------------------------------------

EN = {
    "sports": [
        "{name} scored twice in the second half as the home side came from behind to win 3-2.",
        "The coach said the team would rotate the squad ahead of the cup tie in {city} on Saturday.",
        "After {n} straight defeats, the club's supporters called for a change in tactics.",
        "The marathon in {city} drew more than {big} runners despite the heavy rain.",
        "Her serve was broken only once in the match, and she closed out the final set 6-4.",
        "The referee reviewed the footage and ruled out the goal for offside.",
        "{name} has now won {n} medals at world championship level, more than any other sprinter of this generation.",
        "The goalkeeper made a string of saves in the penalty shootout to send his side into the final.",
        "Training camp opens next week, and the new signings will have to fight for a place in the starting lineup.",
        "The league announced that the play-off matches will be played at neutral venues this season.",
        "A hamstring injury will keep the captain out for at least {n} weeks.",
        "The cyclists faced a brutal mountain stage with three categorised climbs and a summit finish.",
        "Season ticket sales rose by {pct} percent after the club won promotion.",
        "The visitors dominated possession but struggled to create clear chances in front of goal.",
        "{name} broke the national record in the 400 metres and was mobbed by teammates at the finish line.",
        "The basketball team shot poorly from the three-point line and lost by {num} points.",
        "Fans in {city} lined the streets to welcome the champions home with the trophy.",
        "The swimmer qualified fastest for the final of the 200 metres butterfly.",
        "A late try in the corner sealed the rugby win and kept their title hopes alive.",
        "The transfer fee was reported to be around {num} million euros, a record for the club.",
        "The umpire called the batter out after a long review, and the crowd booed loudly.",
        "The striker has scored in each of his last {n} league games.",
        "The youth academy has produced {n} players who now play for the senior team.",
        "Both teams were reduced to ten men after a scuffle near the touchline.",
        "The tennis star withdrew from the tournament in {city}, citing a wrist problem.",
        "The stadium will be expanded to hold {big} more spectators before the {year} season.",
        "The relay team dropped the baton on the final exchange and failed to reach the podium.",
        "With {n} rounds left, only two points separate the top three teams in the table.",
    ],
    "science": [
        "Researchers at the university in {city} have sequenced the genome of a rare deep-sea fish.",
        "The telescope detected faint infrared light from a galaxy that formed less than a billion years after the Big Bang.",
        "In the experiment, the bacteria evolved resistance to the antibiotic within {num} generations.",
        "The team measured how quickly the glacier is retreating using satellite radar data.",
        "A new fossil found in a quarry suggests that feathered dinosaurs were more widespread than thought.",
        "The physicists cooled the atoms to a few billionths of a degree above absolute zero.",
        "{name}, a marine biologist, has spent {n} years studying how coral reefs respond to warmer water.",
        "The study, published in a peer-reviewed journal, tracked {big} volunteers over a decade.",
        "Chemists have designed a catalyst that splits water into hydrogen and oxygen using sunlight.",
        "The probe will reach the outer planet in {year} after a journey of several years.",
        "Measurements of the ocean floor revealed an underwater volcano that had never been mapped.",
        "The researchers cautioned that the results still need to be replicated by independent labs.",
        "By comparing tree rings, the scientists reconstructed rainfall patterns going back a thousand years.",
        "The particle accelerator will be shut down for upgrades until the end of {year}.",
        "A mathematician has proposed a shorter proof of a theorem that stood for decades.",
        "The new material conducts electricity with almost no resistance at higher temperatures than before.",
        "Field biologists counted {num} species of beetle on a single tree in the rainforest.",
        "The rover drilled into the rock and found minerals that only form in the presence of water.",
        "Neuroscientists recorded the activity of individual neurons while the mice learned a maze.",
        "The climate model predicts that sea levels will rise faster along this coastline.",
        "A team led by {name} used gene editing to make the crop tolerant of drought.",
        "The comet will be visible to the naked eye from the northern hemisphere next month.",
        "Seismologists recorded more than {num} small earthquakes beneath the volcano last week.",
        "Isotope analysis showed that the ancient traveller grew up hundreds of kilometres away.",
        "The lab's electron microscope can image structures smaller than a nanometre.",
        "According to the authors, the effect was statistically significant but small.",
        "The experiment on the space station studies how flames behave in microgravity.",
        "Astronomers have confirmed {n} new exoplanets orbiting a nearby red dwarf star.",
    ],
    "politics": [
        "The parliament voted {num} to {num} to pass the budget after a long night of debate.",
        "The opposition leader accused the government of breaking its election promises on housing.",
        "{name} announced a campaign to become mayor of {city} in the {year} election.",
        "Turnout in the regional election was {n} points higher than four years ago.",
        "The coalition partners failed once again to agree on a new pension reform.",
        "The minister resigned after a report criticised the handling of a procurement contract.",
        "Thousands of protesters gathered outside the ministry in {city} to demand lower rents.",
        "The senate committee will hold public hearings on the proposed surveillance law next month.",
        "Polls suggest the race between the two candidates is too close to call.",
        "The president signed an executive order on border security on {day}.",
        "Diplomats from {n} countries met in {city} to discuss a ceasefire.",
        "The bill would raise the minimum wage and expand paid parental leave.",
        "Critics say the new electoral map favours the ruling party in rural districts.",
        "The prime minister reshuffled the cabinet, bringing in {n} new ministers.",
        "Local councillors approved a plan to build {big} affordable homes on former industrial land.",
        "The constitutional court struck down parts of the law on freedom of assembly.",
        "In a televised debate, the candidates clashed over taxes, immigration and healthcare.",
        "The governor vetoed the measure, saying it would cost the state too much.",
        "Election observers reported long queues but no serious irregularities at polling stations.",
        "The party's membership has grown by {pct} percent since the leadership contest.",
        "A cross-party group of lawmakers called for an independent inquiry into the scandal.",
        "The foreign minister summoned the ambassador to protest against the sanctions.",
        "Voters in {city} rejected the proposal in a referendum by a narrow margin.",
        "{name}, a veteran campaigner, said the party must win back young voters.",
        "The speaker suspended the session after members of the opposition walked out.",
        "Negotiations on the trade agreement have stalled over agricultural subsidies.",
        "The ruling party lost its majority in the upper house for the first time since {year}.",
        "The new government promised to publish the details of every lobbying meeting online.",
    ],
    "cooking": [
        "Start by browning the onions slowly in butter until they turn golden and sweet.",
        "Knead the dough for about {n} minutes, then let it rise in a warm place for an hour.",
        "This lentil soup is cheap, filling and ready in under forty minutes.",
        "Toast the cumin seeds in a dry pan before grinding them for the spice mix.",
        "{name} learned to make fresh pasta in a small village near {city}.",
        "Season the chicken generously with salt and pepper and roast it at 200 degrees for {num} minutes.",
        "A squeeze of lemon juice at the end brightens the flavour of the sauce.",
        "If the batter is too thick, add a splash of milk and whisk until smooth.",
        "Let the steak rest for five minutes before slicing so the juices stay in the meat.",
        "The secret to crispy potatoes is to parboil them and shake them in the pan before roasting.",
        "For a vegan version, replace the eggs with a mixture of ground flaxseed and water.",
        "Simmer the tomato sauce gently and stir from time to time so it does not stick.",
        "Fold the egg whites into the chocolate mixture carefully to keep the mousse light.",
        "This recipe serves {n} people and can be made a day in advance.",
        "Slice the cucumbers thinly and leave them in salted vinegar for a quick pickle.",
        "The bakery in {city} sells more than {big} croissants every weekend.",
        "Marinate the tofu in soy sauce, garlic and ginger for at least an hour.",
        "Grease the tin with butter and dust it with flour so the cake comes out cleanly.",
        "Add the rice, stir to coat every grain in oil, then pour in the hot stock a ladle at a time.",
        "Fresh herbs such as basil and coriander should be added just before serving.",
        "The curry tastes even better the next day, once the spices have had time to blend.",
        "Use a sharp knife and put a damp towel under the chopping board so it does not slip.",
        "Bake the bread until the crust is deep brown and the loaf sounds hollow when tapped.",
        "The restaurant serves a tasting menu of {n} courses built around seasonal vegetables.",
        "Whisk the olive oil, mustard and vinegar together to make a simple dressing.",
        "Blanch the green beans in boiling water for two minutes and then plunge them into iced water.",
        "Caramelise the sugar without stirring, swirling the pan until it turns amber.",
        "Leftover roast vegetables make an excellent filling for an omelette.",
    ],
    "technology": [
        "The company released a software update that fixes a security flaw in the login system.",
        "The new smartphone has a larger battery and a camera that performs better in low light.",
        "Engineers moved the database to a cloud provider to cut hosting costs by {pct} percent.",
        "{name}, the startup's chief technology officer, said the app now has {big} daily users.",
        "The open-source library added support for running models directly in the browser.",
        "A bug in the payment service caused some customers to be charged twice on {day}.",
        "The chip maker plans to open a new semiconductor factory near {city} in {year}.",
        "Developers can now deploy containers with a single command from the terminal.",
        "The laptop's keyboard is comfortable, but the fan gets noisy under heavy load.",
        "Researchers warned that the router firmware leaks passwords over the local network.",
        "The latest version of the programming language makes the compiler noticeably faster.",
        "Users complained that the redesigned interface hides important settings behind several menus.",
        "The data centre is cooled with seawater to reduce its electricity consumption.",
        "The team rewrote the backend in Rust to reduce memory usage and latency.",
        "Self-driving test vehicles have covered more than {big} kilometres in {city} without a serious accident.",
        "The messaging app introduced end-to-end encryption for group calls.",
        "A new version of the operating system drops support for devices older than {n} years.",
        "The robot vacuum maps each room with a laser sensor and avoids cables on the floor.",
        "Criminals used a phishing email to gain access to the company's internal network.",
        "The smart thermostat learns the household's routine and adjusts the heating automatically.",
        "Broadband providers are racing to bring fibre connections to rural villages.",
        "The quantum computer prototype has {num} qubits, but error rates remain high.",
        "The developer conference in {city} focused on artificial intelligence tools for programmers.",
        "Its battery lasts about {num} hours of video playback on a single charge.",
        "The search engine now summarises results with a language model at the top of the page.",
        "Security engineers recommend enabling two-factor authentication on every account.",
        "The electric car receives new features through over-the-air software updates.",
        "The website went offline for {n} hours after a configuration error at the hosting provider.",
    ],
    "travel": [
        "The old town of {city} is best explored on foot, early in the morning before the crowds arrive.",
        "We took the night train and woke up to snow-covered mountains outside the window.",
        "The airline added {n} new direct routes for the summer season.",
        "Book the museum tickets online in advance, because the queue at the entrance can take hours.",
        "{name} spent {num} days backpacking through the region with only a small rucksack.",
        "The hostel near the station is cheap, clean and has a friendly shared kitchen.",
        "Ferries to the islands leave every hour from the main harbour in summer.",
        "A week in {city} cost us less than we expected, including hotels and food.",
        "The hiking trail climbs steeply through pine forest to a lake at the top of the valley.",
        "Remember to check whether you need a visa before you book your flight.",
        "The beach is quiet in the off-season, and most of the cafés along the promenade are closed.",
        "Our guide showed us the hidden courtyards and told stories about the city's history.",
        "The hotel upgraded our room because the lift on our floor was out of order.",
        "Public transport in {city} is excellent, and a day pass costs only a few euros.",
        "Flights were delayed for hours after a storm closed the airport on {day}.",
        "The campsite by the river has space for {num} tents and a small shop.",
        "Street food stalls at the night market sell grilled fish, noodles and fresh fruit juice.",
        "Tourist numbers in the region rose by {pct} percent compared with last year.",
        "We rented bicycles and followed the coastal path to a lighthouse.",
        "The cathedral is free to enter, but visitors pay a small fee to climb the tower.",
        "Travellers are advised to carry some cash, as many village shops do not accept cards.",
        "The road through the pass is closed from November until late spring.",
        "{name} recommends visiting the vineyards in the autumn when the grapes are harvested.",
        "Our cabin on the ship had a small balcony with a view of the fjord.",
        "Pack light layers, because the weather in the mountains changes quickly.",
        "The new high-speed line cuts the journey between the two capitals to under {n} hours.",
        "Many visitors underestimate how long it takes to walk between the sights.",
        "Local guesthouses offer home-cooked breakfasts and advice on the best walking routes.",
    ],
    "health": [
        "Doctors recommend at least 150 minutes of moderate exercise every week.",
        "The clinic in {city} has extended its opening hours to reduce waiting times.",
        "Drinking enough water is especially important for older people during a heatwave.",
        "The vaccine was shown to reduce hospital admissions by {pct} percent in the trial.",
        "{name}, a nurse with {num} years of experience, said staff shortages are affecting patient care.",
        "Poor sleep has been linked to a higher risk of heart disease and depression.",
        "The hospital opened a new ward for children with respiratory infections.",
        "Patients with high blood pressure should reduce the amount of salt in their diet.",
        "A regular eye test can detect problems such as glaucoma before symptoms appear.",
        "Health officials reported {big} new cases of influenza in the past week.",
        "Physiotherapy helped the patient regain strength in the knee after the operation.",
        "The study found that people who walked more than {num} minutes a day had lower blood sugar.",
        "Wash your hands with soap for at least twenty seconds to prevent the spread of germs.",
        "The government plans to hire {big} more doctors for rural health centres.",
        "Mental health services for young people have seen a sharp rise in referrals.",
        "Antibiotics do not work against viral infections such as the common cold.",
        "The doctor adjusted the dose of the medication after a blood test.",
        "Smoking rates among adults have fallen to about {pct} percent over the past decade.",
        "A balanced diet with plenty of vegetables, whole grains and fibre supports gut health.",
        "The pharmacy now offers free blood pressure checks on {day} mornings.",
        "Symptoms of dehydration include headache, dizziness and dark urine.",
        "The charity trains volunteers to give first aid and perform CPR.",
        "Researchers are testing whether a daily dose of vitamin D prevents fractures.",
        "The dentist reminded parents to limit sugary drinks for young children.",
        "Stretching before and after a run can reduce the risk of injury.",
        "{n} out of ten patients said they were satisfied with the care they received.",
        "The new screening programme aims to catch bowel cancer at an early stage.",
        "Allergy season has started early this year because of the warm spring.",
    ],
    "finance": [
        "The central bank raised interest rates by a quarter of a percentage point on {day}.",
        "Shares in the company fell {pct} percent after it cut its profit forecast.",
        "Inflation slowed for a third month in a row, according to official figures.",
        "{name}, a portfolio manager in {city}, expects bond yields to fall later this year.",
        "The bank reported a quarterly profit of {num} million dollars, beating analysts' expectations.",
        "Mortgage rates have climbed to their highest level since {year}.",
        "Investors moved money into gold as stock markets became more volatile.",
        "The startup raised {num} million euros in a funding round led by a venture capital firm.",
        "Households are spending a larger share of their income on rent and energy.",
        "The currency weakened against the dollar after the trade figures were published.",
        "Financial advisers recommend keeping an emergency fund of three to six months of expenses.",
        "The merger will create one of the largest insurers in the country.",
        "Pension funds are increasing their investments in renewable energy projects.",
        "Unemployment fell to {n} percent, the lowest level in a generation.",
        "The retailer's sales rose during the holiday season, but profit margins shrank.",
        "The regulator fined the bank for failing to prevent money laundering.",
        "Index funds charge lower fees than most actively managed funds.",
        "Oil prices jumped after producers agreed to cut output.",
        "The government issued {num} billion euros of new bonds to finance infrastructure.",
        "Credit card debt has reached a record high as consumers borrow to cover rising costs.",
        "The company will buy back shares worth {big} million dollars over the next two years.",
        "Small businesses in {city} say higher borrowing costs are delaying their expansion plans.",
        "Economists expect growth to slow to around one percent next year.",
        "The stock exchange suspended trading in the shares pending an announcement.",
        "A diversified portfolio spreads risk across shares, bonds and property.",
        "The finance minister presented a budget that cuts corporate tax and raises spending on defence.",
        "House prices in {city} rose by {pct} percent over the past twelve months.",
        "Quarterly earnings season begins next week with results from the largest banks.",
    ],
}

# ---------------------------------------------------------------------------------------
# Other languages: a few topic pools each (7 sentences), so every label has some
# ---------------------------------------------------------------------------------------

OTHER = {
    "de": {
        "politics": [
            "Der Bundestag hat am Donnerstag nach langer Debatte das neue Klimaschutzgesetz beschlossen.",
            "Die Opposition wirft der Regierung vor, ihre Wahlversprechen beim Wohnungsbau gebrochen zu haben.",
            "{name} will bei der Bürgermeisterwahl in {city} im Jahr {year} antreten.",
            "Die Wahlbeteiligung stieg im Vergleich zur letzten Wahl um {n} Prozentpunkte.",
            "Die Koalitionspartner konnten sich auch in der dritten Verhandlungsrunde nicht auf eine Rentenreform einigen.",
            "Mehrere tausend Menschen demonstrierten vor dem Rathaus gegen die steigenden Mieten.",
            "Der Minister trat zurück, nachdem ein Bericht schwere Fehler bei der Vergabe von Aufträgen aufgedeckt hatte.",
            "Laut einer aktuellen Umfrage liegen die beiden größten Parteien fast gleichauf.",
            "Der Bundesrat muss dem Gesetz noch zustimmen, bevor es in Kraft treten kann.",
            "Die Regierung will das Wahlalter bei der nächsten Bundestagswahl auf sechzehn Jahre senken.",
            "Nach der Landtagswahl beginnen nun schwierige Koalitionsverhandlungen.",
        ],
        "finance": [
            "Die Europäische Zentralbank hat den Leitzins um einen Viertelprozentpunkt angehoben.",
            "Die Aktie des Konzerns verlor {pct} Prozent, nachdem das Unternehmen seine Gewinnprognose gesenkt hatte.",
            "Viele Haushalte geben inzwischen einen größeren Teil ihres Einkommens für Miete und Energie aus.",
            "Das Start-up aus {city} hat in einer Finanzierungsrunde {num} Millionen Euro eingesammelt.",
            "Die Inflationsrate ist im vergangenen Monat erneut leicht gesunken.",
            "Anleger flüchteten in Gold, weil die Kurse an den Aktienmärkten immer stärker schwankten.",
            "Finanzberater empfehlen, eine Rücklage von drei bis sechs Monatsgehältern anzulegen.",
            "Die Bauzinsen sind so hoch wie seit {year} nicht mehr.",
            "Die Bank meldete für das dritte Quartal einen Gewinn von {num} Millionen Euro.",
            "Der Versicherungskonzern will mit der Übernahme zum größten Anbieter des Landes werden.",
            "Kleine Unternehmen klagen darüber, dass die hohen Kreditkosten ihre Investitionen bremsen.",
        ],
        "sports": [
            "{name} erzielte in der zweiten Halbzeit zwei Tore und drehte damit das Spiel.",
            "Der Trainer kündigte an, vor dem Pokalspiel am Samstag mehrere Stammspieler zu schonen.",
            "Nach {n} Niederlagen in Folge fordern die Fans einen Wechsel auf der Trainerbank.",
            "Beim Marathon in {city} gingen trotz des starken Regens mehr als {big} Läuferinnen und Läufer an den Start.",
            "Der Torhüter hielt im Elfmeterschießen zwei Schüsse und brachte seine Mannschaft ins Finale.",
            "Eine Oberschenkelverletzung setzt den Kapitän mindestens {n} Wochen außer Gefecht.",
            "Mit nur zwei Punkten Rückstand auf den Tabellenführer ist das Rennen um die Meisterschaft wieder offen.",
            "Die Handballerinnen gewannen das Halbfinale nach Verlängerung mit einem Tor Vorsprung.",
            "Der Verein verpflichtete einen jungen Mittelfeldspieler für eine Ablöse von {num} Millionen Euro.",
            "Die Skispringerin stellte einen neuen Schanzenrekord auf und gewann vor heimischem Publikum.",
            "Das Stadion soll bis zur Saison {year} um {big} Plätze erweitert werden.",
        ],
        "technology": [
            "Das Unternehmen hat ein Sicherheitsupdate veröffentlicht, das eine gefährliche Lücke im Anmeldesystem schließt.",
            "Das neue Smartphone hat einen größeren Akku und eine Kamera, die auch bei wenig Licht gute Bilder macht.",
            "Die Entwickler haben das Backend komplett neu geschrieben, um den Speicherverbrauch zu senken.",
            "Nutzer beschweren sich, dass wichtige Einstellungen in der neuen Oberfläche schwer zu finden sind.",
            "Der Chiphersteller plant, bis {year} ein neues Werk in der Nähe von {city} zu eröffnen.",
            "Experten raten dazu, für jedes Konto die Zwei-Faktor-Authentifizierung zu aktivieren.",
            "Nach einem Konfigurationsfehler beim Hoster war die Website {n} Stunden lang nicht erreichbar.",
            "Die neue Version des Betriebssystems unterstützt keine Geräte mehr, die älter als {n} Jahre sind.",
            "Im Rechenzentrum wird die Abwärme der Server genutzt, um benachbarte Wohnungen zu heizen.",
            "Der Saugroboter vermisst jeden Raum mit einem Lasersensor und weicht Kabeln auf dem Boden aus.",
            "Kriminelle verschafften sich mit einer gefälschten E-Mail Zugang zum internen Netzwerk der Firma.",
        ],
    },
    "fr": {
        "cooking": [
            "Faites revenir les oignons doucement dans le beurre jusqu'à ce qu'ils soient bien dorés.",
            "Pétrissez la pâte pendant une dizaine de minutes, puis laissez-la lever dans un endroit tiède.",
            "Cette soupe de lentilles est économique, nourrissante et prête en moins de quarante minutes.",
            "Ajoutez un filet de jus de citron à la fin pour relever la sauce.",
            "Laissez reposer la viande cinq minutes avant de la découper pour qu'elle garde son jus.",
            "La boulangerie du quartier vend plus de {big} croissants chaque week-end.",
            "Pour une version végétalienne, remplacez les œufs par un mélange de graines de lin et d'eau.",
            "Faites cuire les pommes de terre à l'eau, puis faites-les dorer à la poêle avec un peu d'ail.",
            "Préchauffez le four à 180 degrés et beurrez généreusement le moule à gâteau.",
            "Faites mariner le poulet avec de l'ail, du thym et de l'huile d'olive pendant au moins une heure.",
            "Le curry est encore meilleur le lendemain, quand les épices ont eu le temps de se mélanger.",
        ],
        "politics": [
            "L'Assemblée nationale a adopté le budget après une longue nuit de débats.",
            "Le chef de l'opposition accuse le gouvernement de ne pas tenir ses promesses sur le logement.",
            "{name} a annoncé sa candidature à la mairie de {city} pour les élections de {year}.",
            "Des milliers de manifestants se sont rassemblés devant le ministère pour réclamer des loyers plus bas.",
            "Le Premier ministre a remanié son gouvernement et nommé {n} nouveaux ministres.",
            "Selon les derniers sondages, les deux candidats sont au coude à coude.",
            "Le Conseil constitutionnel a censuré plusieurs articles de la loi sur la sécurité.",
            "Le projet de loi prévoit une hausse du salaire minimum et un congé parental plus long.",
            "Les sénateurs examineront le texte en deuxième lecture la semaine prochaine.",
            "Le maire sortant a annoncé qu'il ne se représenterait pas aux prochaines municipales.",
            "Les observateurs n'ont signalé aucune irrégularité grave dans les bureaux de vote.",
        ],
        "travel": [
            "La vieille ville se découvre à pied, de préférence tôt le matin avant l'arrivée des touristes.",
            "Nous avons pris le train de nuit et nous nous sommes réveillés face aux montagnes enneigées.",
            "Pensez à réserver vos billets de musée en ligne, car la file d'attente peut durer des heures.",
            "Les ferries pour les îles partent toutes les heures depuis le port principal en été.",
            "Le sentier de randonnée grimpe à travers la forêt de pins jusqu'à un lac de montagne.",
            "Une semaine à {city} nous a coûté moins cher que prévu, hôtels et repas compris.",
            "Les transports en commun sont excellents et le pass journalier ne coûte que quelques euros.",
            "L'hôtel nous a surclassés parce que l'ascenseur de notre étage était en panne.",
            "Les vols ont été retardés de plusieurs heures après qu'un orage a fermé l'aéroport.",
            "Le camping au bord de la rivière propose {num} emplacements et une petite épicerie.",
            "Notre guide nous a montré les cours cachées et raconté l'histoire de la ville.",
        ],
        "science": [
            "Des chercheurs de l'université de {city} ont séquencé le génome d'un poisson des grands fonds.",
            "Le télescope a détecté la faible lumière infrarouge d'une galaxie très lointaine.",
            "Les physiciens ont refroidi les atomes à quelques milliardièmes de degré au-dessus du zéro absolu.",
            "L'étude, publiée dans une revue scientifique, a suivi {big} volontaires pendant dix ans.",
            "Les auteurs soulignent que les résultats doivent encore être confirmés par d'autres laboratoires.",
            "Les astronomes ont confirmé la découverte de {n} nouvelles exoplanètes autour d'une étoile voisine.",
            "Le robot a foré la roche et trouvé des minéraux qui ne se forment qu'en présence d'eau.",
            "Les sismologues ont enregistré plus de {num} petits séismes sous le volcan la semaine dernière.",
            "Grâce aux cernes des arbres, les chercheurs ont reconstitué les pluies des mille dernières années.",
            "Une équipe dirigée par {name} a rendu une variété de blé plus résistante à la sécheresse.",
            "La comète sera visible à l'œil nu dans l'hémisphère nord le mois prochain.",
        ],
    },
    "es": {
        "sports": [
            "{name} marcó dos goles en la segunda parte y el equipo local remontó el partido.",
            "El entrenador anunció que dará descanso a varios titulares antes del partido de copa.",
            "Después de {n} derrotas seguidas, la afición pide un cambio de táctica.",
            "El portero detuvo dos penaltis en la tanda y llevó a su equipo a la final.",
            "Más de {big} corredores participaron en el maratón de {city} a pesar de la lluvia.",
            "Una lesión muscular mantendrá al capitán fuera de los terrenos de juego durante {n} semanas.",
            "A falta de {n} jornadas, solo dos puntos separan a los tres primeros de la clasificación.",
            "La selección de baloncesto perdió por {num} puntos tras un mal partido desde la línea de tres.",
            "El club ha vendido muchos más abonos esta temporada después de lograr el ascenso.",
            "La tenista se retiró del torneo de {city} por unas molestias en la muñeca.",
            "El ciclista ganó la etapa de montaña tras un ataque en la última subida.",
        ],
        "travel": [
            "El casco antiguo de {city} se recorre mejor a pie y temprano, antes de que lleguen los grupos de turistas.",
            "Reserva las entradas del museo por internet, porque la cola en la puerta puede durar horas.",
            "El albergue junto a la estación es barato, limpio y tiene una cocina compartida muy agradable.",
            "Alquilamos bicicletas y seguimos el camino de la costa hasta el faro.",
            "Los vuelos se retrasaron varias horas porque una tormenta cerró el aeropuerto.",
            "En los pueblos conviene llevar algo de efectivo, ya que muchas tiendas no aceptan tarjeta.",
            "La ruta de senderismo sube entre pinos hasta un lago al final del valle.",
            "Los ferris a las islas salen cada hora desde el puerto principal durante el verano.",
            "Una semana en {city} nos salió más barata de lo que esperábamos, con hotel y comidas incluidos.",
            "Nuestro guía nos enseñó los patios escondidos y nos contó la historia de la ciudad.",
            "La catedral es gratuita, pero hay que pagar una pequeña entrada para subir a la torre.",
        ],
        "health": [
            "Los médicos recomiendan al menos 150 minutos de ejercicio moderado a la semana.",
            "Beber suficiente agua es especialmente importante para las personas mayores durante una ola de calor.",
            "La vacuna redujo los ingresos hospitalarios en un {pct} por ciento durante el ensayo.",
            "Dormir mal se ha relacionado con un mayor riesgo de enfermedades cardíacas y depresión.",
            "Los pacientes con la tensión alta deberían reducir la cantidad de sal en su dieta.",
            "El centro de salud de {city} ha ampliado su horario para reducir las listas de espera.",
            "Los antibióticos no sirven contra las infecciones víricas como el resfriado común.",
            "Lavarse las manos con jabón durante veinte segundos ayuda a evitar el contagio de muchas enfermedades.",
            "La farmacia ofrece controles gratuitos de la tensión arterial los lunes por la mañana.",
            "El hospital ha abierto una nueva planta para niños con infecciones respiratorias.",
            "Dormir bien, comer verdura y caminar a diario son los consejos más repetidos por los médicos.",
        ],
        "cooking": [
            "Sofríe la cebolla a fuego lento en aceite de oliva hasta que esté dorada y dulce.",
            "Esta sopa de lentejas es barata, llena mucho y está lista en menos de cuarenta minutos.",
            "Añade el arroz, remueve para que se impregne bien del sofrito y vierte el caldo caliente.",
            "Deja reposar la carne cinco minutos antes de cortarla para que no pierda sus jugos.",
            "Un chorrito de zumo de limón al final le da frescura a la salsa.",
            "La receta es para {n} personas y se puede preparar el día anterior.",
            "Bate los huevos con una pizca de sal y cuaja la tortilla a fuego medio.",
            "Precalienta el horno a 180 grados y unta el molde con mantequilla.",
            "Las hierbas frescas, como el perejil o el cilantro, se añaden justo antes de servir.",
            "Deja las lentejas en remojo la noche anterior para que se cuezan antes.",
            "Para que las patatas queden crujientes, hiérvelas unos minutos antes de hornearlas.",
        ],
    },
    "it": {
        "cooking": [
            "Fate rosolare la cipolla nel burro a fuoco basso finché non diventa dorata.",
            "Impastate la farina con le uova per circa dieci minuti, fino a ottenere un impasto liscio ed elastico.",
            "Cuocete la pasta in abbondante acqua salata e scolatela al dente.",
            "Il segreto di un buon risotto è aggiungere il brodo caldo poco alla volta, mescolando spesso.",
            "{name} ha imparato a fare la pasta fresca in un piccolo paese vicino a {city}.",
            "Aggiungete il basilico fresco solo all'ultimo momento, prima di servire.",
            "Questa ricetta è per {n} persone e si può preparare anche il giorno prima.",
            "Per il ragù servono almeno tre ore di cottura a fuoco lentissimo.",
            "Tagliate le melanzane a fette, salatele e lasciatele riposare per mezz'ora.",
            "Per una versione vegana, sostituite le uova con un po' di farina di ceci e acqua.",
            "Lasciate riposare l'arrosto qualche minuto prima di tagliarlo, così resta morbido.",
        ],
        "sports": [
            "{name} ha segnato una doppietta nel secondo tempo e la squadra di casa ha ribaltato il risultato.",
            "L'allenatore ha deciso di far riposare alcuni titolari in vista della partita di coppa.",
            "Dopo {n} sconfitte consecutive, i tifosi chiedono un cambio in panchina.",
            "Il portiere ha parato due rigori e ha portato la sua squadra in finale.",
            "La tappa di montagna del Giro prevede tre salite impegnative e l'arrivo in vetta.",
            "Un infortunio alla coscia terrà il capitano lontano dai campi per almeno {n} settimane.",
            "A {n} giornate dalla fine, solo due punti separano le prime tre della classifica.",
            "La nazionale di pallavolo ha vinto tre set a uno e si è qualificata per la semifinale.",
            "Il club ha acquistato un giovane centrocampista per {num} milioni di euro.",
            "La tennista si è ritirata dal torneo per un problema al polso.",
            "Lo stadio sarà ampliato di {big} posti prima della stagione {year}.",
        ],
        "travel": [
            "Il centro storico di {city} si visita meglio a piedi, la mattina presto, prima dell'arrivo dei turisti.",
            "Abbiamo preso il treno notturno e ci siamo svegliati davanti alle montagne innevate.",
            "Conviene prenotare i biglietti del museo online, perché la coda all'ingresso può durare ore.",
            "I traghetti per le isole partono ogni ora dal porto principale durante l'estate.",
            "Il sentiero sale ripido attraverso il bosco fino a un piccolo lago alpino.",
            "Una settimana a {city} ci è costata meno del previsto, compresi alberghi e ristoranti.",
            "La cattedrale è gratuita, ma per salire sul campanile si paga un piccolo biglietto.",
            "Portate con voi un po' di contanti, perché molti negozi nei paesi non accettano carte.",
            "Abbiamo noleggiato le biciclette e seguito la strada costiera fino al faro.",
            "L'albergo vicino alla stazione è economico, pulito e ha una cucina in comune.",
            "Il volo è stato cancellato per il maltempo e abbiamo passato la notte in aeroporto.",
        ],
    },
    "pt": {
        "sports": [
            "{name} marcou dois golos na segunda parte e a equipa da casa deu a volta ao resultado.",
            "O treinador anunciou que vai poupar alguns titulares antes do jogo da taça.",
            "Depois de {n} derrotas seguidas, os adeptos exigem uma mudança de treinador.",
            "O guarda-redes defendeu dois penáltis e levou a equipa à final.",
            "Mais de {big} atletas participaram na maratona de {city}, apesar da chuva forte.",
            "Uma lesão muscular vai afastar o capitão dos relvados durante pelo menos {n} semanas.",
            "A {n} jornadas do fim, apenas dois pontos separam os três primeiros classificados.",
            "A seleção de voleibol venceu por três sets a um e garantiu um lugar nas meias-finais.",
            "O clube contratou um jovem médio por {num} milhões de euros.",
            "O ciclista venceu a etapa de montanha depois de atacar na última subida.",
            "A tenista desistiu do torneio devido a uma lesão no pulso.",
        ],
        "health": [
            "Os médicos recomendam pelo menos 150 minutos de exercício moderado por semana.",
            "Beber água suficiente é especialmente importante para os idosos durante uma onda de calor.",
            "A vacina reduziu os internamentos hospitalares em {pct} por cento durante o ensaio clínico.",
            "Dormir mal está associado a um maior risco de doenças cardíacas e de depressão.",
            "O centro de saúde de {city} alargou o horário de funcionamento para reduzir as listas de espera.",
            "Os antibióticos não funcionam contra infeções virais como a constipação comum.",
            "Uma alimentação equilibrada, com muitos legumes e cereais integrais, ajuda a saúde intestinal.",
            "O hospital abriu uma nova ala para crianças com infeções respiratórias.",
            "Lavar as mãos com sabão durante vinte segundos ajuda a evitar a propagação de doenças.",
            "A farmácia passou a oferecer a medição gratuita da tensão arterial às segundas-feiras.",
            "Os especialistas lembram que a falta de sono afeta a concentração e o humor.",
        ],
        "finance": [
            "O banco central subiu as taxas de juro em um quarto de ponto percentual.",
            "As ações da empresa caíram {pct} por cento depois de a administração rever em baixa as previsões de lucro.",
            "As famílias gastam uma parte cada vez maior do rendimento com a renda da casa e a energia.",
            "A startup de {city} angariou {num} milhões de euros numa ronda de financiamento.",
            "A inflação voltou a abrandar no mês passado, segundo os dados oficiais.",
            "Os consultores financeiros recomendam ter uma reserva de emergência equivalente a seis meses de despesas.",
            "Os preços das casas em {city} subiram {pct} por cento nos últimos doze meses.",
            "As taxas dos créditos à habitação atingiram o nível mais alto desde {year}.",
            "Os investidores procuraram refúgio no ouro perante a instabilidade das bolsas.",
            "O regulador multou o banco por não ter impedido operações de branqueamento de capitais.",
            "Os fundos de pensões estão a investir cada vez mais em projetos de energia renovável.",
        ],
    },
    "nl": {
        "technology": [
            "Het bedrijf heeft een beveiligingsupdate uitgebracht die een lek in het inlogsysteem dicht.",
            "De nieuwe smartphone heeft een grotere accu en een camera die ook bij weinig licht goede foto's maakt.",
            "De ontwikkelaars hebben de backend volledig herschreven om het geheugengebruik te verlagen.",
            "Gebruikers klagen dat belangrijke instellingen in de nieuwe interface moeilijk te vinden zijn.",
            "Na een configuratiefout bij de hostingprovider was de website {n} uur lang niet bereikbaar.",
            "Deskundigen raden aan om voor elk account tweestapsverificatie in te schakelen.",
            "De chipfabrikant wil in {year} een nieuwe fabriek openen in de buurt van {city}.",
            "De nieuwe versie van het besturingssysteem ondersteunt apparaten ouder dan {n} jaar niet meer.",
            "Het datacenter gebruikt de restwarmte van de servers om woningen in de buurt te verwarmen.",
            "De robotstofzuiger brengt elke kamer in kaart met een lasersensor en ontwijkt snoeren op de vloer.",
            "Criminelen kregen via een valse e-mail toegang tot het interne netwerk van het bedrijf.",
        ],
        "travel": [
            "De oude binnenstad van {city} kun je het best te voet verkennen, vroeg in de ochtend.",
            "We namen de nachttrein en werden wakker met uitzicht op besneeuwde bergen.",
            "Reserveer je museumkaartjes vooraf online, want de rij bij de ingang kan uren duren.",
            "We huurden fietsen en volgden het pad langs de kust tot aan de vuurtoren.",
            "De veerboten naar de eilanden vertrekken in de zomer elk uur vanuit de haven.",
            "Neem wat contant geld mee, want veel winkels in de dorpen accepteren geen pinpas.",
            "Het wandelpad klimt steil door het dennenbos naar een meer boven in het dal.",
            "Het hotel gaf ons een betere kamer omdat de lift op onze verdieping kapot was.",
            "Door een storm bleef het vliegveld urenlang dicht en liepen alle vluchten vertraging op.",
            "De camping aan de rivier heeft plaats voor {num} tenten en een kleine winkel.",
            "Onze gids liet ons de verborgen hofjes zien en vertelde over de geschiedenis van de stad.",
        ],
        "finance": [
            "De centrale bank heeft de rente met een kwart procentpunt verhoogd.",
            "Het aandeel van het concern daalde {pct} procent nadat de winstverwachting werd verlaagd.",
            "Huishoudens geven een steeds groter deel van hun inkomen uit aan huur en energie.",
            "De start-up uit {city} heeft {num} miljoen euro opgehaald bij investeerders.",
            "Volgens het statistiekbureau is de inflatie vorige maand opnieuw licht gedaald.",
            "Financieel adviseurs raden aan een buffer van drie tot zes maanden aan vaste lasten aan te houden.",
            "De huizenprijzen in {city} stegen het afgelopen jaar met {pct} procent.",
            "De bank boekte over het derde kwartaal een winst van {num} miljoen euro.",
            "Beleggers vluchtten naar goud omdat de aandelenmarkten steeds onrustiger werden.",
            "Kleine ondernemers zeggen dat de hoge rente hun uitbreidingsplannen vertraagt.",
            "De toezichthouder legde de bank een boete op omdat die witwassen niet had voorkomen.",
        ],
    },
    "pl": {
        "politics": [
            "Sejm przyjął ustawę budżetową po wielogodzinnej debacie.",
            "Lider opozycji zarzucił rządowi, że nie dotrzymał obietnic wyborczych w sprawie mieszkań.",
            "Tysiące ludzi protestowały przed ministerstwem, domagając się niższych czynszów.",
            "Partie koalicyjne wciąż nie mogą porozumieć się w sprawie reformy emerytalnej.",
            "Według najnowszego sondażu dwie największe partie mają niemal takie samo poparcie.",
            "Minister podał się do dymisji po publikacji raportu o nieprawidłowościach w przetargach.",
            "Wybory samorządowe odbędą się wiosną {year} roku.",
            "Projekt ustawy przewiduje podwyżkę płacy minimalnej i dłuższy urlop rodzicielski.",
            "Senat zajmie się nowelizacją na posiedzeniu w przyszłym tygodniu.",
            "Prezydent zawetował ustawę, argumentując, że budżet państwa nie udźwignie jej kosztów.",
            "Obserwatorzy nie zgłosili poważnych nieprawidłowości w lokalach wyborczych.",
        ],
        "sports": [
            "Napastnik strzelił dwa gole w drugiej połowie i gospodarze odwrócili losy meczu.",
            "Trener zapowiedział, że przed meczem pucharowym da odpocząć kilku podstawowym zawodnikom.",
            "Po {n} porażkach z rzędu kibice domagają się zmiany trenera.",
            "Bramkarz obronił dwa rzuty karne i wprowadził drużynę do finału.",
            "Kontuzja uda wykluczy kapitana z gry na kilka tygodni.",
            "W maratonie wystartowało ponad {big} biegaczy mimo ulewnego deszczu.",
            "Siatkarze wygrali mecz trzy do jednego i awansowali do półfinału mistrzostw.",
            "Klub zapłacił za młodego pomocnika rekordową kwotę.",
            "Skoczek narciarski poprawił rekord skoczni i wygrał konkurs przed własną publicznością.",
            "Tenisistka wycofała się z turnieju z powodu kontuzji nadgarstka.",
            "Kolarz wygrał górski etap po ataku na ostatnim podjeździe.",
        ],
        "health": [
            "Lekarze zalecają co najmniej 150 minut umiarkowanej aktywności fizycznej tygodniowo.",
            "Picie odpowiedniej ilości wody jest szczególnie ważne dla osób starszych podczas upałów.",
            "Niedobór snu wiąże się z większym ryzykiem chorób serca i depresji.",
            "Pacjenci z nadciśnieniem powinni ograniczyć ilość soli w diecie.",
            "Szpital otworzył nowy oddział dla dzieci z infekcjami dróg oddechowych.",
            "Antybiotyki nie działają na infekcje wirusowe, takie jak zwykłe przeziębienie.",
            "Regularne badanie wzroku pozwala wykryć jaskrę, zanim pojawią się objawy.",
            "Apteka oferuje bezpłatny pomiar ciśnienia krwi w poniedziałkowe poranki.",
            "Mycie rąk mydłem przez co najmniej dwadzieścia sekund chroni przed wieloma chorobami.",
            "Ministerstwo planuje zatrudnić więcej lekarzy w wiejskich ośrodkach zdrowia.",
            "Sezon alergiczny zaczął się w tym roku wcześniej z powodu ciepłej wiosny.",
        ],
    },
    "sv": {
        "science": [
            "Forskare vid universitetet i {city} har kartlagt arvsmassan hos en sällsynt djuphavsfisk.",
            "Teleskopet har upptäckt svagt infrarött ljus från en mycket avlägsen galax.",
            "I experimentet utvecklade bakterierna resistens mot antibiotikan inom några veckor.",
            "Studien, som publicerades i en vetenskaplig tidskrift, följde {big} frivilliga under tio år.",
            "Författarna betonar att resultaten måste bekräftas av andra laboratorier.",
            "Astronomerna har bekräftat {n} nya exoplaneter som kretsar kring en närliggande stjärna.",
            "Glaciären drar sig tillbaka snabbare än forskarna tidigare har beräknat.",
            "Seismologerna registrerade fler än {num} små jordskalv under vulkanen förra veckan.",
            "Med hjälp av trädens årsringar har forskarna rekonstruerat nederbörden under de senaste tusen åren.",
            "Fysikerna kylde ner atomerna till bara några miljarddels grader över absoluta nollpunkten.",
            "En forskargrupp ledd av {name} har gjort vetet mer motståndskraftigt mot torka.",
        ],
        "technology": [
            "Företaget har släppt en säkerhetsuppdatering som täpper till ett hål i inloggningssystemet.",
            "Den nya mobilen har ett större batteri och en kamera som tar bra bilder även i svagt ljus.",
            "Utvecklarna har skrivit om hela serverdelen för att minska minnesanvändningen.",
            "Många användare klagar på att viktiga inställningar är svåra att hitta i det nya gränssnittet.",
            "Efter ett konfigurationsfel hos webbhotellet låg sajten nere i {n} timmar.",
            "Experter rekommenderar att man aktiverar tvåstegsverifiering på alla konton.",
            "Bredbandsbolagen bygger ut fibernätet till allt fler byar på landsbygden.",
            "Den nya versionen av operativsystemet stöder inte längre enheter som är äldre än {n} år.",
            "Datacentret använder spillvärmen från servrarna för att värma upp bostäder i närheten.",
            "Robotdammsugaren kartlägger varje rum med en lasersensor och undviker sladdar på golvet.",
            "Kriminella tog sig in i företagets interna nätverk med hjälp av ett falskt mejl.",
        ],
        "travel": [
            "Den gamla stadskärnan i {city} upplevs bäst till fots, tidigt på morgonen innan turisterna kommer.",
            "Vi tog nattåget och vaknade med utsikt över snötäckta berg.",
            "Boka museibiljetterna i förväg på nätet, eftersom kön vid entrén kan vara flera timmar lång.",
            "Färjorna till öarna går varje timme från hamnen under sommaren.",
            "Vi hyrde cyklar och följde kustvägen ända fram till fyren.",
            "Vandringsleden klättrar brant genom tallskogen upp till en sjö högst upp i dalen.",
            "Ta med lite kontanter, eftersom många butiker i byarna inte tar kort.",
            "Hotellet gav oss ett bättre rum eftersom hissen på vår våning var trasig.",
            "Packa lätta lager med kläder, eftersom vädret i fjällen snabbt kan slå om.",
            "Campingen vid älven har plats för {num} tält och en liten affär.",
            "Vår guide visade oss de gömda innergårdarna och berättade om stadens historia.",
        ],
    },
    "ru": {
        "science": [
            "Учёные из Новосибирска расшифровали геном редкой глубоководной рыбы.",
            "Телескоп зафиксировал слабое инфракрасное излучение очень далёкой галактики.",
            "В ходе эксперимента бактерии выработали устойчивость к антибиотику всего за несколько недель.",
            "В исследовании, опубликованном в научном журнале, участвовали более {big} добровольцев.",
            "Авторы подчёркивают, что результаты ещё должны подтвердить независимые лаборатории.",
            "Марсоход пробурил породу и обнаружил минералы, которые образуются только в присутствии воды.",
            "Сейсмологи зарегистрировали более {num} слабых землетрясений под вулканом за последнюю неделю.",
            "С помощью годичных колец деревьев учёные восстановили количество осадков за последнюю тысячу лет.",
            "Физики охладили атомы до температуры, близкой к абсолютному нулю.",
            "Математик предложил более короткое доказательство теоремы, которая десятилетиями оставалась недоказанной.",
            "Комета будет видна невооружённым глазом в северном полушарии в следующем месяце.",
        ],
        "politics": [
            "Государственная дума приняла бюджет на следующий год после долгих обсуждений.",
            "Лидер оппозиции обвинил правительство в невыполнении обещаний по строительству жилья.",
            "Тысячи людей вышли на улицы, требуя снизить арендную плату.",
            "Партнёры по коалиции так и не смогли договориться о пенсионной реформе.",
            "Министр подал в отставку после публикации доклада о нарушениях при проведении закупок.",
            "Согласно последнему опросу, две крупнейшие партии идут практически вровень.",
            "Выборы в городской совет пройдут осенью {year} года.",
            "Законопроект предусматривает повышение минимальной зарплаты и увеличение отпуска по уходу за ребёнком.",
            "Оппозиционные депутаты покинули зал заседаний в знак протеста.",
            "Наблюдатели не сообщили о серьёзных нарушениях на избирательных участках.",
            "Губернатор наложил вето на закон, заявив, что региональный бюджет не выдержит таких расходов.",
        ],
        "sports": [
            "Нападающий забил два гола во втором тайме, и хозяева сумели отыграться.",
            "Тренер объявил, что перед кубковым матчем даст отдохнуть нескольким игрокам основного состава.",
            "После серии поражений болельщики требуют отставки главного тренера.",
            "Вратарь отразил два пенальти в серии послематчевых ударов и вывел команду в финал.",
            "Из-за травмы бедра капитан пропустит как минимум несколько недель.",
            "В марафоне приняли участие более {big} бегунов, несмотря на сильный дождь.",
            "Хоккеисты выиграли со счётом {n}:1 и вышли в полуфинал.",
            "Футбольный клуб подписал контракт с молодым полузащитником на пять лет.",
            "Лыжница выиграла гонку на тридцать километров и завоевала золотую медаль.",
            "Теннисистка снялась с турнира из-за травмы запястья.",
            "Велогонщик выиграл горный этап после атаки на последнем подъёме.",
        ],
    },
    "zh": {
        "technology": [
            "该公司发布了一个安全更新，修复了登录系统中的严重漏洞。",
            "这款新手机配备了更大的电池，在光线不足的环境下也能拍出清晰的照片。",
            "开发团队重写了后端代码，使内存占用减少了百分之{pct}。",
            "许多用户抱怨新界面把重要的设置藏得太深，很难找到。",
            "由于服务商的配置错误，该网站中断服务长达{n}个小时。",
            "专家建议所有用户为每个账户开启双重身份验证。",
            "这家芯片制造商计划于{year}年在上海附近建设一座新工厂。",
            "新版本的操作系统将不再支持使用超过{n}年的旧设备。",
            "这个数据中心利用服务器产生的余热为附近的居民楼供暖。",
            "扫地机器人用激光传感器绘制每个房间的地图，还能避开地上的电线。",
            "犯罪分子通过一封钓鱼邮件侵入了公司的内部网络。",
        ],
        "finance": [
            "中央银行宣布将基准利率上调二十五个基点。",
            "公司下调全年盈利预期后，股价当天下跌了百分之{pct}。",
            "越来越多的家庭把收入的很大一部分用于支付房租和能源费用。",
            "这家初创企业在新一轮融资中筹集了{num}亿元人民币。",
            "根据官方数据，上个月的通货膨胀率再次小幅回落。",
            "理财顾问建议人们预留相当于三到六个月支出的应急资金。",
            "受市场波动影响，不少投资者将资金转向黄金。",
            "房贷利率已经升至{year}年以来的最高水平。",
            "该银行第三季度实现净利润{num}亿元，超出分析师的预期。",
            "监管机构因该银行未能防范洗钱行为而对其处以罚款。",
            "小企业主表示，借贷成本上升正在拖慢他们的扩张计划。",
        ],
        "travel": [
            "古城最好步行游览，尽量在清晨游客到来之前出发。",
            "我们乘坐夜班火车，醒来时窗外已是白雪覆盖的群山。",
            "博物馆门票最好提前在网上预订，因为入口处常常要排几个小时的队。",
            "夜市的小吃摊出售烤鱼、面条和新鲜果汁。",
            "我们租了自行车，沿着海岸线一路骑到灯塔。",
            "这条徒步路线穿过松林，一直通往山谷尽头的湖泊。",
            "买一张一日通票，只需几块钱就可以乘坐全城的公共交通。",
            "酒店因为我们那一层的电梯坏了，免费给我们升级了房间。",
            "山里的天气变化很快，最好多带几件轻便的外套。",
            "河边的露营地可以容纳{num}顶帐篷，还有一家小商店。",
            "导游带我们参观了隐秘的庭院，并讲述了这座城市的历史。",
        ],
    },
    "ja": {
        "technology": [
            "同社はログイン機能の深刻な脆弱性を修正するセキュリティ更新を公開した。",
            "新しいスマートフォンはバッテリー容量が大きくなり、暗い場所でもきれいな写真が撮れる。",
            "開発チームはメモリ使用量を減らすため、バックエンドを全面的に書き直した。",
            "新しい画面デザインでは重要な設定が見つけにくいという苦情が利用者から寄せられている。",
            "ホスティング会社の設定ミスにより、ウェブサイトは{n}時間にわたって閲覧できなくなった。",
            "専門家はすべてのアカウントで二段階認証を有効にするよう勧めている。",
            "半導体メーカーは{year}年までに九州に新しい工場を建設する計画だ。",
            "新しい基本ソフトは、発売から{n}年以上たった端末をサポートしない。",
            "このデータセンターはサーバーの排熱を利用して近くの住宅を暖房している。",
            "ロボット掃除機はレーザーセンサーで部屋の間取りを把握し、床のケーブルを避けて進む。",
            "犯罪グループは偽のメールを使って会社の社内ネットワークに侵入した。",
        ],
        "cooking": [
            "玉ねぎをバターで弱火にかけ、きつね色になるまでじっくり炒めます。",
            "だしは昆布とかつお節でとると、味噌汁の風味がぐっと良くなります。",
            "鶏肉に塩をふって十分ほど置き、余分な水分をふき取ってから焼きます。",
            "ご飯を炊くときは、米をよく研いでから三十分ほど水に浸しておきましょう。",
            "最後にレモン汁を少し加えると、ソースの味が引き締まります。",
            "このレシピは{n}人分で、前日に作っておくこともできます。",
            "揚げ油の温度は百七十度くらいが目安です。",
            "オーブンを百八十度に予熱し、型にバターを薄く塗っておきます。",
            "カレーは一晩寝かせると、スパイスがなじんでさらにおいしくなります。",
            "ジャガイモは一度ゆでてから焼くと、外はカリッと中はほくほくに仕上がります。",
            "ドレッシングはオリーブオイルと酢、マスタードを混ぜるだけで簡単に作れます。",
        ],
        "travel": [
            "古い町並みは観光客が増える前の朝早い時間に歩いて回るのがおすすめです。",
            "夜行列車に乗り、目が覚めると窓の外には雪をかぶった山々が広がっていた。",
            "美術館のチケットは入口で長時間並ぶことがあるので、事前にオンラインで予約しましょう。",
            "夏の間、島へ向かうフェリーは港から一時間ごとに出ています。",
            "自転車を借りて、海沿いの道を灯台まで走りました。",
            "駅の近くの旅館は手頃な値段で、朝食の評判もとても良い。",
            "山の天気は変わりやすいので、薄手の上着を何枚か持っていくと安心です。",
            "嵐で空港が閉鎖され、ほとんどの便が数時間遅れた。",
            "村の小さな店ではカードが使えないことが多いので、現金を少し持っていきましょう。",
            "川沿いのキャンプ場には{num}張りのテントを張るスペースと小さな売店がある。",
            "ガイドさんは隠れた中庭を案内し、町の歴史について話してくれた。",
        ],
    },
    "ar": {
        "politics": [
            "صادق البرلمان على الميزانية العامة بعد نقاش طويل استمر حتى ساعات الصباح.",
            "اتهم زعيم المعارضة الحكومة بعدم الوفاء بوعودها الانتخابية في مجال الإسكان.",
            "تظاهر آلاف الأشخاص أمام مبنى الوزارة للمطالبة بخفض الإيجارات.",
            "فشل شركاء الائتلاف مرة أخرى في الاتفاق على إصلاح نظام التقاعد.",
            "قدم الوزير استقالته بعد نشر تقرير ينتقد طريقة إدارته لعقود المشتريات.",
            "تشير أحدث استطلاعات الرأي إلى أن المنافسة بين المرشحين متقاربة جدا.",
            "ستجرى الانتخابات البلدية في ربيع عام {year}.",
            "ينص مشروع القانون على رفع الحد الأدنى للأجور وتمديد إجازة الأبوة والأمومة.",
            "انسحب نواب المعارضة من الجلسة احتجاجا على طريقة التصويت.",
            "أعلن رئيس البلدية أنه لن يترشح لولاية جديدة في الانتخابات المقبلة.",
            "لم يسجل المراقبون أي مخالفات جسيمة في مراكز الاقتراع.",
        ],
        "health": [
            "يوصي الأطباء بممارسة التمارين المعتدلة لمدة مئة وخمسين دقيقة على الأقل كل أسبوع.",
            "شرب كمية كافية من الماء مهم بشكل خاص لكبار السن خلال موجات الحر.",
            "ارتبطت قلة النوم بزيادة خطر الإصابة بأمراض القلب والاكتئاب.",
            "يجب على مرضى ارتفاع ضغط الدم تقليل كمية الملح في طعامهم.",
            "افتتح المستشفى جناحا جديدا للأطفال المصابين بأمراض الجهاز التنفسي.",
            "المضادات الحيوية لا تعالج العدوى الفيروسية مثل نزلات البرد.",
            "أظهرت الدراسة أن المشي اليومي يساعد على خفض مستوى السكر في الدم.",
            "غسل اليدين بالماء والصابون لمدة عشرين ثانية يساعد على الوقاية من كثير من الأمراض.",
            "تقدم الصيدلية فحصا مجانيا لضغط الدم صباح كل يوم اثنين.",
            "بدأ موسم الحساسية مبكرا هذا العام بسبب الربيع الدافئ.",
            "تخطط وزارة الصحة لتوظيف مزيد من الأطباء في المراكز الصحية الريفية.",
        ],
        "sports": [
            "سجل المهاجم هدفين في الشوط الثاني ليقلب فريقه النتيجة ويفوز بالمباراة.",
            "أعلن المدرب أنه سيريح عددا من اللاعبين الأساسيين قبل مباراة الكأس.",
            "بعد سلسلة من الهزائم المتتالية، طالب المشجعون بتغيير الجهاز الفني.",
            "تصدى حارس المرمى لركلتي جزاء وقاد فريقه إلى المباراة النهائية.",
            "سيغيب قائد الفريق عن الملاعب عدة أسابيع بسبب إصابة في الفخذ.",
            "شارك أكثر من {big} عداء في ماراثون المدينة رغم الأمطار الغزيرة.",
            "يتصدر الفريق جدول الترتيب بفارق نقطتين فقط قبل {n} جولات من النهاية.",
            "تعاقد النادي مع لاعب وسط شاب لمدة خمس سنوات.",
            "فاز المنتخب بالمباراة بثلاثة أهداف مقابل هدف واحد وتأهل إلى الدور نصف النهائي.",
            "انسحبت لاعبة التنس من البطولة بسبب إصابة في الرسغ.",
            "فاز الدراج بمرحلة الجبال بعد هجوم قوي في الصعود الأخير.",
        ],
    },
}
LANG_WEIGHTS = {"de": 3, "fr": 3, "es": 3, "it": 2, "pt": 2, "nl": 2, "pl": 1.5,
                "sv": 1.5, "ru": 2, "zh": 2, "ja": 1.5, "ar": 1.5}
NO_SPACES = {"zh", "ja"}  # sentences are joined without a space; word edits do not apply

# ---------------------------------------------------------------------------------------
# Boilerplate and junk material
# ---------------------------------------------------------------------------------------

FORUM_OPENERS = ["Quick question for everyone here.", "I saw this yesterday and wanted to share it.",
                 "Long-time reader, first post.", "Not sure if this is the right board, but here goes.",
                 "Sharing some notes from last week."]
FORUM_CLOSERS = ["Any thoughts?", "Curious what others think.", "Thanks in advance for any advice.",
                 "Let me know if I got something wrong."]
FOOTERS = ["Subscribe to our newsletter for more stories like this.",
           "Share this article with your friends on social media.",
           "Copyright © 2025 Demo Media Group. All rights reserved.",
           "Read more stories like this on our homepage.",
           "This article first appeared on our partner website.",
           "Follow us on Twitter and Facebook for daily updates.",
           "Sign up for our weekly digest and never miss a story."]
SHORT_TEXTS = ["ok", "click here", "thanks!", "lol", "+1", "first!", "read more", "N/A", "bump",
               "see above", "same here", "nice", "agreed", "test", "yes", "hi", "following",
               "link?", "done", "great post", "wow", "thx", "what?", "this.", "good"]
LOREM = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt "
         "ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco "
         "laboris nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate "
         "velit esse cillum fugiat nulla pariatur excepteur sint occaecat cupidatat non proident").split()
HASHTAGS = ["#travel", "#food", "#love", "#instagood", "#photooftheday", "#tbt", "#news", "#tech",
            "#fitness", "#football", "#money", "#science", "#vegan", "#wanderlust", "#follow"]
SYMBOL_UNITS = ["#", "*", "=", "-", "~", "…", "•", "★", "→", "!", "?", "_", "+", "/"]
NAV_ITEMS = ["Home", "About", "About us", "Contact", "Login", "Sign up", "Blog", "Shop", "FAQ",
             "Careers", "Privacy Policy", "Terms of Use", "Cart (0)", "Search", "News", "Help",
             "Sitemap", "Newsletter", "Log out", "My account", "Cookie settings", "Press"]
NAV_SEPARATORS = [" | ", " · ", " › ", " / ", "  "]
BULLET_ITEMS = ["Free shipping", "24/7 support", "Money-back guarantee", "New arrivals",
                "Best sellers", "Gift cards", "Size guide", "Track your order", "Student discount",
                "Easy returns", "Secure checkout", "Members only", "Limited edition", "Clearance",
                "Download the app", "Store locator", "Price match", "Customer reviews"]
BULLET_MARKS = ["- ", "• ", "* ", "· "]
CODE_SNIPPETS = [
    "function toggleMenu() { const nav = document.getElementById('nav'); nav.classList.toggle('open'); }",
    ".header { margin: 0 auto; padding: @Npx; color: #333; }",
    '{ "id": @N, "status": "ok", "items": [] }',
    "if (count > @N) { return count; } else { count += 1; }",
    "for (int i = 0; i < @N; i++) { total += values[i]; }",
    "@media (max-width: 600px) { .sidebar { display: none; } }",
    "{{ page.title }} | {% include 'footer.html' %}",
    "window.dataLayer = window.dataLayer || []; function gtag() { dataLayer.push(arguments); }",
    "var config = { retries: @N, timeout: 3000, debug: false };",
]
SEO_WORDS = ["cheap", "best", "deals", "discount", "online", "free", "top", "price", "buy",
             "hotel", "flights", "shoes", "loans", "insurance", "review", "2025", "near me", "sale"]
SPAM_PHRASES = ["BUY NOW", "LIMITED OFFER", "CLICK HERE", "FREE SHIPPING", "ACT FAST",
                "WIN A FREE PHONE", "100% GUARANTEED", "DON'T MISS OUT", "MAKE MONEY FROM HOME",
                "ONLY TODAY"]
REPEATED_PHRASES = ["Click here to subscribe!", "Best price guaranteed.", "Loading...",
                    "Please enable JavaScript to continue.", "Add to cart", "Sponsored content"]


# ---------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------


@dataclass
class Row:
    uid: int  # position before shuffling; never written
    text: str | None
    label: str
    source: str
    kind: str  # clean, exact_dup, case_dup, near_edit, near_footer, junk, html
    lang: str = "und"
    detail: str = ""  # junk kind
    origin: int | None = None  # uid of the row this one copies
    flipped: bool = False


class Slots(dict):
    """format_map helper: each {slot} draws a fresh value from the generator."""

    def __init__(self, rng: random.Random):
        super().__init__()
        self.rng = rng

    def __missing__(self, key: str) -> str:
        return SLOTS[key](self.rng)


def fill(rng: random.Random, template: str) -> str:
    return template.format_map(Slots(rng))


def pick(rng: random.Random, weights: tuple[float, ...] | dict, keys: list[str] | None = None) -> str:
    if isinstance(weights, dict):
        keys, weights = list(weights), list(weights.values())
    return rng.choices(keys, weights=weights)[0]


def norm(text: str | None) -> str:
    """What exact dedup compares (curate.text defaults): NFKC, lowercase, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return re.sub(r"\s+", " ", text).strip()


def choose_sentences(rng, pool: list[str], k: int, taken: list[tuple[int, int]]) -> list[int]:
    """k sentence indices (in document order) whose overlap with every earlier document of
    the pool is at most MAX_SENTENCE_OVERLAP: Jaccard of the chosen sentence sets, each
    sentence weighted by its length. Keeps clean documents from being near-duplicates."""

    def weight(mask: int) -> int:
        total = 0
        while mask:
            low = mask & -mask
            total += len(pool[low.bit_length() - 1])
            mask ^= low
        return total

    for _ in range(300):
        order = rng.sample(range(len(pool)), k)
        mask = sum(1 << i for i in order)
        size = weight(mask)
        for other, other_size in taken:
            shared = weight(mask & other)
            if shared > MAX_SENTENCE_OVERLAP * (size + other_size - shared):
                break
        else:
            taken.append((mask, size))
            return order
    raise RuntimeError(f"sentence pool of {len(pool)} exhausted; add sentences or relax the overlap")


def compose(rng, lang: str, source: str, sentences: list[str]) -> str:
    if lang in NO_SPACES:
        return "".join(sentences)
    if lang == "en" and source == "forum":
        if rng.random() < 0.25:
            sentences = [rng.choice(FORUM_OPENERS)] + sentences
        if rng.random() < 0.25:
            sentences = sentences + [rng.choice(FORUM_CLOSERS)]
    if len(sentences) >= 6 and source in ("news", "wiki"):
        cut = rng.randint(2, len(sentences) - 2)
        return " ".join(sentences[:cut]) + "\n\n" + " ".join(sentences[cut:])
    return " ".join(sentences)


def make_clean(rng: random.Random, n: int) -> list[Row]:
    taken: dict[tuple[str, str], list[tuple[int, int]]] = {}
    per_lang: Counter[str] = Counter()
    rows = []
    for uid in range(n):
        lang = "en" if rng.random() >= NON_ENGLISH_SHARE else pick(rng, LANG_WEIGHTS)
        if lang == "en":
            label = pick(rng, TOPIC_WEIGHTS)
            source = pick(rng, SOURCE_BY_LABEL[label], SOURCES)
            pool, (lo, hi) = EN[label], SENTENCES_EN[source]
        else:
            topics = list(OTHER[lang])  # in turn, so each pool gets its share
            label = topics[per_lang[lang] % len(topics)]
            per_lang[lang] += 1
            source = pick(rng, SOURCE_BY_LABEL[label], SOURCES)
            pool, (lo, hi) = OTHER[lang][label], SENTENCES_OTHER
        order = choose_sentences(rng, pool, rng.randint(lo, hi), taken.setdefault((lang, label), []))
        text = compose(rng, lang, source, [fill(rng, pool[i]) for i in order])
        rows.append(Row(uid, text, label, source, "clean", lang))
    return rows


def flip_labels(rng: random.Random, clean: list[Row]) -> None:
    for row in rng.sample(clean, round(LABEL_NOISE_RATE * len(clean))):
        row.label = rng.choice([label for label in LABELS if label != row.label])
        row.flipped = True


def pick_origin(rng: random.Random, candidates: list[Row], used: list[Row]) -> Row:
    """Mostly a fresh document; one time in four one already copied (clusters of 3+)."""
    row = rng.choice(used) if used and rng.random() < 0.25 else rng.choice(candidates)
    used.append(row)
    return row


def case_variant(rng: random.Random, text: str) -> str:
    variants = [str.lower, str.upper, str.lower,
                lambda t: "  " + t + "  ",
                lambda t: t.replace(" ", "  "),
                lambda t: t.replace(" ", "\n", 2),
                lambda t: t.replace(". ", ".\t"),
                lambda t: t.rstrip() + "\n"]
    for _ in range(20):
        out = rng.choice(variants)(text)
        if out != text and norm(out) == norm(text):
            return out
    return " " + text + " "


def edit_words(rng: random.Random, text: str) -> str:
    """Insert, delete or substitute 5-15 % of the words, in one to three bursts of
    neighbouring words (a reworded phrase), with words taken from the same document.
    Whitespace is re-joined by single spaces."""
    words = text.split()
    edits = max(1, round(len(words) * rng.uniform(0.05, 0.15)))
    bursts = rng.randint(1, min(3, edits))
    for burst in range(bursts):
        i = rng.randrange(len(words))
        for _ in range(edits // bursts + (burst < edits % bursts)):
            i = min(i, len(words) - 1)
            op = rng.choice(("insert", "delete", "substitute"))
            if op == "insert":
                words.insert(i, rng.choice(words))
            elif op == "delete":
                del words[i]
            else:
                words[i] = rng.choice([w for w in words if w != words[i]])
            i += op != "delete"
    return " ".join(words)


def make_copies(rng: random.Random, clean: list[Row], start_uid: int) -> list[Row]:
    copies: list[Row] = []

    def add(origin: Row, text: str, kind: str) -> None:
        source = origin.source if rng.random() < 0.5 else pick(rng, COPY_SOURCES[kind], SOURCES)
        copies.append(Row(start_uid + len(copies), text, origin.label, source, kind, origin.lang,
                          origin=origin.uid, flipped=origin.flipped))

    used: list[Row] = []
    for _ in range(N_EXACT_DUP):
        origin = pick_origin(rng, clean, used)
        add(origin, origin.text, "exact_dup")
    used = []
    for _ in range(N_CASE_DUP):
        origin = pick_origin(rng, clean, used)
        add(origin, case_variant(rng, origin.text), "case_dup")
    long_docs = [r for r in clean if r.lang not in NO_SPACES and len(r.text.split()) >= NEAR_DUP_MIN_WORDS]
    used = []
    for _ in range(N_NEAR_EDIT):
        origin = pick_origin(rng, long_docs, used)
        text = edit_words(rng, origin.text)
        while norm(text) == norm(origin.text):
            text = edit_words(rng, origin.text)
        add(origin, text, "near_edit")
    english = [r for r in long_docs if r.lang == "en"]
    used = []
    for _ in range(N_NEAR_FOOTER):
        origin = pick_origin(rng, english, used)
        footers = rng.sample(FOOTERS, 1 if rng.random() < 0.8 else 2)
        add(origin, origin.text + "\n\n" + "\n".join(footers), "near_footer")
    return copies


def junk_text(rng: random.Random, kind: str, topic: str) -> str | None:
    """Text for one junk row; kinds built from real sentences use `topic` (the row's label)."""
    if kind == "null":
        return None
    if kind == "empty":
        return rng.choice(["", "", "", " ", "\n", "  \t "])
    if kind == "short":
        return rng.choice(SHORT_TEXTS)
    if kind == "lorem_ipsum":
        sentences = [" ".join(rng.choices(LOREM, k=rng.randint(6, 14))).capitalize() + "."
                     for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.5:
            sentences.insert(0, "Lorem ipsum dolor sit amet, consectetur adipiscing elit.")
        return " ".join(sentences)
    if kind == "symbols":
        lines = []
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.3:
                lines.append(" ".join(rng.sample(HASHTAGS, rng.randint(4, 9))))
            else:
                unit = rng.choice(SYMBOL_UNITS) * rng.randint(1, 4)
                lines.append((unit + rng.choice(["", " "])) * rng.randint(3, 15))
        return "\n".join(lines)
    if kind == "nav_menu":
        sep = rng.choice(NAV_SEPARATORS)
        return "\n".join(sep.join(rng.sample(NAV_ITEMS, rng.randint(4, 8))) for _ in range(rng.randint(1, 3)))
    if kind == "repeated":
        if rng.random() < 0.5:  # the same line over and over
            line = rng.choice(REPEATED_PHRASES + [fill(rng, rng.choice(EN[topic]))])
            return "\n".join([line] * rng.randint(6, 15))
        gram = " ".join(rng.sample(SEO_WORDS, rng.randint(2, 3)))  # one n-gram repeated
        return " ".join([gram] * rng.randint(8, 25)) + "."
    if kind == "bullets":
        mark = rng.choice(BULLET_MARKS)
        return "\n".join(mark + item for item in rng.sample(BULLET_ITEMS, rng.randint(3, 8)))
    if kind == "code":
        snippets = rng.sample(CODE_SNIPPETS, rng.randint(1, 3))
        return "\n".join(s.replace("@N", str(rng.randint(2, 64))) for s in snippets)
    if kind == "no_terminal_punct":
        if rng.random() < 0.5:  # keyword stuffing
            return " ".join(rng.choices(SEO_WORDS, k=rng.randint(6, 14)) + [rng.choice(CITIES).lower()])
        parts = [fill(rng, s) for s in rng.sample(EN[topic], rng.randint(2, 3))]
        return " ".join(re.sub(r"[.,!?;:]", "", p).lower() for p in parts)
    if kind == "spam_caps":
        return " ".join(p + "!!!" for p in rng.sample(SPAM_PHRASES, rng.randint(2, 4)))
    raise ValueError(kind)


def make_junk(rng: random.Random, start_uid: int) -> list[Row]:
    rows = []
    for kind, count in JUNK_COUNTS.items():
        weights = JUNK_SOURCES.get(kind, JUNK_SOURCES["default"])
        for _ in range(count):
            topic = rng.choice(LABELS)
            rows.append(Row(start_uid + len(rows), junk_text(rng, kind, topic), topic,
                            pick(rng, weights, SOURCES), "junk", detail=kind))
    return rows


def make_html(rng: random.Random, start_uid: int) -> list[Row]:
    plan = [("cooking", "forum", "<script>alert(1)</script>"),
            ("technology", "web", "<img src=x onerror=alert(1)>")]
    rows = []
    for topic, source, payload in plan[:N_HTML]:
        sentences = [fill(rng, s) for s in rng.sample(EN[topic], 4)]
        sentences.insert(2, payload)
        rows.append(Row(start_uid + len(rows), " ".join(sentences), topic, source, "html", "en"))
    return rows


def build(rng: random.Random) -> list[Row]:
    n_clean = sum(SHARD_SIZES) - N_EXACT_DUP - N_CASE_DUP - N_NEAR_EDIT - N_NEAR_FOOTER - sum(JUNK_COUNTS.values()) - N_HTML
    clean = make_clean(rng, n_clean)
    if len({norm(r.text) for r in clean}) != len(clean):
        raise RuntimeError("two clean documents collide after normalisation")
    flip_labels(rng, clean)
    rows = clean + make_copies(rng, clean, len(clean))
    rows += make_junk(rng, len(rows))
    rows += make_html(rng, len(rows))
    rng.shuffle(rows)
    return rows


def write_shards(rows: list[Row]) -> list[Path]:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    paths, start = [], 0
    for shard, size in enumerate(SHARD_SIZES):
        part = rows[start : start + size]
        frame = pl.DataFrame(
            {
                "id": [f"demo-{start + i + 1:06d}" for i in range(len(part))],
                "text": [r.text for r in part],
                "label": [r.label for r in part],
                "source": [r.source for r in part],
            },
            schema={"id": pl.String, "text": pl.String, "label": pl.String, "source": pl.String},
        )
        path = OUT_DIR / f"part-{shard:05d}.parquet"
        frame.write_parquet(path, compression="zstd", compression_level=ZSTD_LEVEL, statistics=True)
        paths.append(path)
        start += size
    return paths


def shard_of(position: int) -> int:
    bound = 0
    for shard, size in enumerate(SHARD_SIZES):
        bound += size
        if position < bound:
            return shard
    raise IndexError(position)


def report(rows: list[Row], paths: list[Path]) -> None:
    kinds = Counter(r.kind for r in rows)
    position = {r.uid: i for i, r in enumerate(rows)}
    copies = [r for r in rows if r.origin is not None]
    cross = Counter(r.kind for r in copies if shard_of(position[r.uid]) != shard_of(position[r.origin]))
    clean = [r for r in rows if r.kind == "clean"]
    seen, repeats = set(), 0
    for r in rows:
        key = norm(r.text)
        repeats += key in seen
        seen.add(key)
    dup_groups = Counter(r.origin for r in copies if r.kind == "exact_dup")
    print(f"curate demo data: {len(rows)} rows in {len(paths)} shards {SHARD_SIZES}")
    print("planted rows:")
    print(f"  clean documents             {kinds['clean']:5d}  ({sum(r.lang == 'en' for r in clean)} English)")
    print(f"    with a flipped label      {sum(r.flipped for r in clean):5d}  "
          f"(+{sum(r.flipped for r in copies)} copies of them carry the same wrong label)")
    print(f"  exact duplicates            {kinds['exact_dup']:5d}  ({cross['exact_dup']} in another shard than "
          f"their original; {len(dup_groups)} originals, up to {max(dup_groups.values())} copies each)")
    print(f"  case/whitespace duplicates  {kinds['case_dup']:5d}  ({cross['case_dup']} in another shard)")
    print(f"  near-duplicates, word edits {kinds['near_edit']:5d}  ({cross['near_edit']} in another shard)")
    print(f"  near-duplicates, footer     {kinds['near_footer']:5d}  ({cross['near_footer']} in another shard)")
    print(f"  junk                        {kinds['junk']:5d}  "
          + ", ".join(f"{k} {v}" for k, v in JUNK_COUNTS.items()))
    print(f"  html/script payloads        {kinds['html']:5d}")
    print(f"rows whose normalised text equals an earlier row's: {repeats} "
          f"({N_EXACT_DUP + N_CASE_DUP} planted, the rest repeated junk such as empty texts and 'ok')")
    docs = [r for r in rows if r.kind != "junk"]
    langs = Counter(r.lang for r in docs)
    print("languages of non-junk rows: " + ", ".join(f"{k} {v}" for k, v in langs.most_common())
          + f" (English {100 * langs['en'] / len(docs):.1f} %)")
    print("labels: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(r.label for r in rows).items())))
    print("source      rows  clean  copies  junk  junk%")
    for source in SOURCES:
        part = [r for r in rows if r.source == source]
        junk = sum(r.kind == "junk" for r in part)
        print(f"  {source:8s}{len(part):6d}{sum(r.kind == 'clean' for r in part):7d}"
              f"{sum(r.origin is not None for r in part):8d}{junk:6d}{100 * junk / len(part):6.1f}")
    for path in paths:
        print(f"wrote {path.relative_to(OUT_DIR.parent.parent.parent)}  {path.stat().st_size:,} bytes")
    print(f"total {sum(p.stat().st_size for p in paths):,} bytes")


def main() -> None:
    rows = build(random.Random(SEED))
    report(rows, write_shards(rows))


if __name__ == "__main__":
    main()
