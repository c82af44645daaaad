"""Fictional names for a generated scheme: people, their emails, host codes and host names.

Mostly word lists - common given names and surnames of the communities
behind each NHS ethnic category, place names for each region, organisation
name templates for each org type - and the few small functions that pick
from them. The picks are driven by generate.py's seeded generator (uniforms
passed in, or the generator itself), so editing a list changes the names in
every generated scheme for a seed, never its shape.
"""

from __future__ import annotations

import unicodedata

import numpy as np

# Fictional people: common given names and surnames of the communities behind
# each ethnic category, so a sample reads like a real cohort. Accents,
# apostrophes, hyphens and spaces are deliberate (they test encodings and emails).

_NAME_POOLS: dict[str, tuple[list[str], list[str], list[str]]] = {
    pool: (f.split(), m.split(), s.split("|"))
    for pool, (f, m, s) in {
        "british": (
            "Olivia Amelia Isla Emily Sophie Grace Lily Freya Ella Charlotte Poppy Evie Jessica Hannah Lucy "
            "Chloe Megan Holly Rebecca Laura Sarah Emma Katie Bethany Eleanor Alice Harriet Abigail Rachel "
            "Georgia Lauren Natalie Kirsty Gemma Rhiannon Ffion Catriona Morag Zoë Imogen",
            "Oliver George Harry Jack Jacob Noah Charlie Thomas Oscar William James Alfie Joshua Daniel Samuel "
            "Benjamin Matthew Luke Ryan Callum Liam Connor Adam Lewis Jamie Owen Rhys Dylan Ewan Fraser "
            "Alistair Gareth Craig Scott Dominic Edward Rory Hamish Iwan",
            "Smith|Jones|Taylor|Brown|Williams|Wilson|Johnson|Davies|Robinson|Wright|Thompson|Evans|Walker|"
            "White|Roberts|Green|Hall|Wood|Jackson|Clarke|Hughes|Edwards|Lewis|Harris|Turner|Cooper|Hill|Ward|"
            "Morris|Moore|Clark|King|Baker|Harrison|Morgan|Allen|Scott|Phillips|Watson|Parker|Price|Bennett|"
            "Young|Griffiths|Mitchell|Cook|Carter|Richardson|Bailey|Collins|Bell|Shaw|Miller|Cox|Marshall|Gray|"
            "Simpson|Ellis|Chapman|Powell|Webb|Rogers|Mason|Hunt|Holmes|Palmer|Fletcher|Lloyd|Barker|Pearce|"
            "Fox|Armstrong|Ashworth|Pemberton|Hargreaves|Fothergill|Lloyd-Jones|Bright-Hughes|MacLeod|"
            "Campbell|Stewart|ap Rhys",
        ),
        "irish": (
            "Aoife Siobhán Niamh Ciara Róisín Orla Saoirse Clodagh Sinéad Aisling Gráinne Maeve",
            "Seán Cian Oisín Declan Ciarán Darragh Eoin Pádraig Ronan Cormac Fionn Colm",
            "Murphy|Kelly|O'Brien|O'Sullivan|Byrne|Ryan|O'Connor|Doyle|McCarthy|Gallagher|Quinn|Brennan|"
            "Fitzgerald|Kavanagh|O'Neill|Ó Briain|Mac Giolla",
        ),
        "polish": (
            "Agnieszka Katarzyna Zofia Magdalena Joanna Ewa",
            "Piotr Tomasz Jakub Mateusz Krzysztof Paweł",
            "Nowak|Kowalczyk|Wiśniewski|Dąbrowski|Lewandowski|Zieliński|Kamiński",
        ),
        "italian": (
            "Giulia Francesca Chiara Alessia Sara",
            "Marco Luca Matteo Alessandro Davide",
            "Rossi|Ferrari|Esposito|Bianchi|Romano|Colombo|Ricci",
        ),
        "iberian": (
            "Ana Lucía Inês Marta Beatriz Carmen",
            "João Diego Pedro Javier Tiago Miguel",
            "Silva|Santos|Ferreira|García|Fernández|Pereira|Martínez|Costa",
        ),
        "romanian": (
            "Ioana Andreea Elena Cristina Bianca",
            "Andrei Mihai Bogdan Alexandru Ionuț",
            "Popescu|Ionescu|Popa|Stan|Dumitru|Constantin",
        ),
        "greek": (
            "Eleni Maria Katerina Sofia Despina",
            "Nikolaos Dimitrios Georgios Konstantinos Yannis",
            "Papadopoulos|Georgiou|Nikolaidis|Christodoulou|Pappas",
        ),
        "indian": (
            "Priya Ananya Kavya Divya Pooja Shreya Neha Anjali Meera Simran Harpreet Jaspreet Nisha Riya Deepa",
            "Arjun Rohan Vikram Rahul Aarav Sanjay Anil Rajesh Karan Nikhil Harjit Gurpreet Amit Dev Vivek",
            "Patel|Sharma|Singh|Kaur|Gupta|Shah|Mistry|Chauhan|Joshi|Mehta|Kumar|Reddy|Nair|Iyer|Desai|"
            "Sandhu|Gill|Dhillon|Bains|Parmar",
        ),
        "pakistani": (
            "Ayesha Fatima Zainab Maryam Sana Hira Amna Iqra Noor Saima Mehwish",
            "Muhammad Ali Hassan Usman Bilal Imran Faisal Zain Hamza Adil Waqas",
            "Khan|Hussain|Ahmed|Iqbal|Akhtar|Mahmood|Butt|Malik|Raja|Chaudhry|Qureshi|Bashir|Aslam|Rashid",
        ),
        "bangladeshi": (
            "Nusrat Tahmina Farhana Rumana Sharmin Jannat Sadia Taslima Shirin",
            "Rahim Shahid Jamal Rafiq Anwar Abdul Tanvir Shafiq Mizanur",
            "Begum|Uddin|Miah|Rahman|Islam|Chowdhury|Hoque|Ali|Ahmed|Sarkar",
        ),
        "sri_lankan": (
            "Tharshini Anusha Nirmala Kalpana Dilini",
            "Kajan Suresh Dinesh Pradeep Kasun",
            "Sivakumar|Perera|Fernando|Wickramasinghe|Balasubramaniam|Jayawardena",
        ),
        "nepali": ("Sunita Sita Anjana Pratima", "Bishal Prakash Suman Bikash", "Gurung|Thapa|Rai|Limbu|Shrestha"),
        "filipino": (
            "Maricel Rowena Jasmine Kristine",
            "Jericho Rommel Mark Jonathan",
            "Reyes|Santos|Dela Cruz|Bautista|Mendoza",
        ),
        "vietnamese": ("Linh Thao Huong Mai", "Minh Tuan Duc Quang", "Nguyen|Tran|Le|Pham|Hoang"),
        "caribbean": (
            "Shanice Tanisha Chantelle Keisha Monique Aaliyah Jade Simone Kezia Marcia",
            "Tyrone Marcus Jermaine Leon Andre Delroy Kemar Nathaniel Jerome Winston",
            "Campbell|Brown|Williams|Thompson|Francis|Clarke|Forbes|Bailey|Henry|Grant|Reid|Gayle|McKenzie|"
            "Edwards|Walters|Bennett",
        ),
        "nigerian": (
            "Chiamaka Adaeze Ngozi Folake Ifeoma Temitope Yetunde Funmilayo",
            "Chinedu Oluwaseun Tunde Emeka Obinna Babajide Kayode Ikenna",
            "Okafor|Adeyemi|Okonkwo|Ogunleye|Eze|Nwosu|Adebayo|Oyelaran|Abdullahi",
        ),
        "ghanaian": (
            "Abena Ama Akosua Efua Adwoa",
            "Kwame Kofi Yaw Kwabena Kojo",
            "Mensah|Asante|Boateng|Osei|Owusu|Appiah",
        ),
        "somali": (
            "Hodan Fadumo Amina Sahra Ayaan",
            "Abdi Mohamed Abdirahman Yusuf Ahmed",
            "Mohamud|Warsame|Farah|Abdi|Hassan|Omar",
        ),
        "zimbabwean": (
            "Chipo Rutendo Nyasha Tatenda Grace",
            "Tinashe Farai Takudzwa Simbarashe Brian",
            "Moyo|Ncube|Sibanda|Chikwanha|Mutasa|Banda",
        ),
        "kenyan": (
            "Wanjiru Achieng Njeri Wambui Faith",
            "Kamau Otieno Kiprop Brian Daniel",
            "Mwangi|Otieno|Odhiambo|Kiprono|Njoroge|Kamau",
        ),
        "chinese": (
            "Jing Xiaoyu Mei Lin Yan Wen Hui Jiayi Siu Ying Xinyi",
            "Wei Jun Hao Jian Ming Tao Kai Zhiwei Ka-ho Yuxuan",
            "Wang|Li|Zhang|Liu|Chen|Yang|Huang|Zhao|Wu|Zhou|Lau|Cheung|Wong|Chan|Ng|Ho|Leung",
        ),
        "arab": (
            "Leila Yasmin Noor Layla Rania Huda",
            "Omar Karim Yusuf Ahmad Tariq Khaled",
            "Haddad|Khalil|Nasser|Al-Masri|Mansour|El-Sayed|Aziz",
        ),
        "turkish": ("Elif Zeynep Ayşe Merve", "Emre Mehmet Can Burak", "Yılmaz|Demir|Kaya|Şahin|Çelik"),
        "iranian": ("Shirin Darya Maryam Parisa", "Reza Dariush Arash Kian", "Hosseini|Karimi|Rahimi|Mohammadi|Ahmadi"),
        "latin_american": (
            "Carolina Valentina Camila Daniela",
            "Mateo Santiago Andrés Felipe",
            "Rodríguez|Morales|Gómez|Herrera|Castillo",
        ),
    }.items()
}
# Name pools of each ethnic category: one pool is drawn per candidate. For the
# mixed categories (D-G) the given name and the surname come from two draws.
_POOLS_OF_CODE: dict[str, tuple[str, ...]] = {
    "A": ("british",), "B": ("irish",), "C": ("polish", "italian", "iberian", "romanian", "greek"),
    "D": ("british", "caribbean"), "E": ("british", "nigerian", "ghanaian"), "F": ("british", "indian", "pakistani"),
    "G": ("british", "iberian", "chinese", "arab", "filipino"),
    "H": ("indian",), "J": ("pakistani",), "K": ("bangladeshi",), "L": ("sri_lankan", "nepali", "filipino", "vietnamese"),
    "M": ("caribbean",), "N": ("nigerian", "ghanaian", "somali", "zimbabwean", "kenyan"), "P": ("caribbean", "zimbabwean"),
    "R": ("chinese",), "S": ("arab", "turkish", "iranian", "latin_american"),
}  # fmt: skip
_MIXED_CODES = frozenset("DEFG")


def candidate_name(code: str, female: bool, u: np.ndarray) -> tuple[str, str]:
    """A (given, family) name for a candidate of ethnic category ``code`` from four uniforms ``u``."""
    pools = _POOLS_OF_CODE[code]
    given_pool = _NAME_POOLS[pools[int(u[0] * len(pools))]]
    family_pool = _NAME_POOLS[pools[int(u[1] * len(pools))]] if code in _MIXED_CODES else given_pool
    givens = given_pool[0] if female else given_pool[1]
    return givens[int(u[2] * len(givens))], family_pool[2][int(u[3] * len(family_pool[2]))]


# Letters NFKD does not split into a base letter and an accent.
_NO_DECOMPOSITION = str.maketrans({"ı": "i", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "ß": "ss", "æ": "ae"})


def email_local_part(given: str, family: str) -> str:
    """``firstname.lastname``: accents folded, apostrophes and spaces dropped, lower case."""

    def fold(text: str) -> str:
        plain = unicodedata.normalize("NFKD", text.translate(_NO_DECOMPOSITION)).encode("ascii", "ignore").decode()
        return "".join(ch for ch in plain.lower() if ch.isalnum() or ch == "-")

    return f"{fold(given)}.{fold(family)}"


# Made-up codes shaped like ODS codes: NHS trusts R.., integrated care boards
# Q.., commissioning support and other bodies 0.., health innovation networks Y..
_CODE_PREFIX = {
    "acute": "R",
    "mental_health": "R",
    "community": "R",
    "ambulance": "R",
    "ics": "Q",
    "ahsn": "Y",
    "other": "0",
}
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def host_codes(rng: np.random.Generator, org_types: list[str]) -> list[str]:
    codes = [""] * len(org_types)
    for prefix in sorted(set(_CODE_PREFIX.values())):
        idx = [i for i, o in enumerate(org_types) if _CODE_PREFIX[o] == prefix]
        if not idx:
            continue
        width = 2
        while 36**width < 4 * len(idx):
            width += 1
        for i, v in zip(idx, rng.choice(36**width, size=len(idx), replace=False)):
            digits = ""
            for _ in range(width):
                v, d = divmod(int(v), 36)
                digits = _BASE36[d] + digits
            codes[i] = prefix + digits
    return codes


_PLACES: dict[str, list[str]] = {
    region: places.split("|")
    for region, places in {
        "London": "Thameside|Lea Valley|Wandle|Ravensbourne|Northgate|Kingsmere|Brent Valley|Fleetbank|"
        "Riverside|Hollowfield|Southbank|Eastway|Westferry|Colne Valley|Greenwich Reach|Hainault",
        "South East": "Wealden|Downsview|Solent Shore|Medway Valley|Chiltern Vale|Test Valley|Arun Valley|"
        "Kennet|Rother|Surrey Heath|Mole Valley|Ashdown|Stour Downs|Meon Valley|Romney|Loddon",
        "South West": "Wessex|Severnside|Tamar|Exe Valley|Mendip|Quantock|Dartmoor|Cotswold Vale|Avon Vale|"
        "Purbeck|Kernow|Torbay and Dart|Blackdown|Stour Vale|Wyvern|Exmoor",
        "Midlands": "Trent Valley|Peak and Dales|Arden|Charnwood|Soar Valley|Malvern Hills|Wrekin|Sherwood Vale|"
        "Lincoln Wolds|Cannock Chase|Marches|Nene Valley|Tame Valley|Dove Valley|Mercia|Erewash",
        "East of England": "Fenland|Broads|Ouse Valley|Stour and Orwell|Breckland|Chelmer|Lea and Stort|"
        "Colne and Blackwater|Waveney|Cam Valley|Wash|Bure Valley|Dengie|Hertford Vale|Deben|Nar Valley",
        "North West": "Mersey Vale|Pennine Edge|Lune Valley|Ribble Valley|Fylde|Wirral Coast|Irwell|Eden Valley|"
        "Lakeland|Bowland|Morecambe Bay|Weaver Vale|Furness|Douglas Valley|Wyre|Bollin",
        "North East and Yorkshire": "Tyne and Wear|Tees Valley|Wearside|Humber Estuary|Aire Valley|Calder Vale|"
        "Dales|Wolds|Don Valley|Cheviot|Wharfe Valley|Esk Valley|Hallam|Swale|Derwent Valley|Holderness",
    }.items()
}
_NAME_TEMPLATES: dict[str, tuple[str, ...]] = {
    "acute": ("{} Hospitals NHS Foundation Trust", "University Hospitals of {} NHS Trust", "{} Teaching Hospitals NHS Trust",
              "{} Hospitals NHS Trust", "{} General Hospital NHS Foundation Trust", "{} Healthcare NHS Trust"),
    "mental_health": ("{} Mental Health NHS Foundation Trust", "{} Partnership NHS Foundation Trust",
                      "{} Mental Health and Learning Disability NHS Trust", "{} Care NHS Foundation Trust"),
    "community": ("{} Community Health Services NHS Trust", "{} Community Healthcare NHS Trust", "{} Health and Care NHS Trust"),
    "ambulance": ("{} Ambulance Service NHS Trust", "{} Ambulance Service NHS Foundation Trust"),
    "ics": ("NHS {} Integrated Care Board",),
    "ahsn": ("Health Innovation {}", "{} Academic Health Science Network"),
    "other": ("{} Commissioning Support Unit", "{} Health Informatics Service", "{} Shared Services Partnership"),
}  # fmt: skip
_COMPASS = ("", "", "", "North ", "South ", "East ", "West ", "Mid ", "Central ", "Greater ")


def host_names(rng: np.random.Generator, org_types: list[str], regions: list[str]) -> list[str]:
    """Plausible, distinct organisation names for hosts of the given types and regions."""
    names: list[str] = []
    used: set[str] = set()
    u = rng.random((len(org_types), 8, 4))
    for i, (org, region) in enumerate(zip(org_types, regions)):
        places, templates = _PLACES[region], _NAME_TEMPLATES[org]
        name = ""
        for attempt in range(8):
            a, b, c, d = u[i, attempt]
            place = places[int(a * len(places))]
            if attempt >= 4:  # crowded: merged organisations take both names
                other = places[int(d * len(places))]
                place = f"{place} and {other}" if other != place else place
            name = templates[int(b * len(templates))].format(_COMPASS[int(c * len(_COMPASS))] + place)
            if name not in used:
                break
        k = 2
        base = name
        while name in used:
            name, k = f"{base} ({k})", k + 1
        used.add(name)
        names.append(name)
    return names
