"""Word lists and weighted categories the demo data is drawn from.

Weights are rough shares of a global streaming audience; they only need to
look plausible, not be right.
"""

from __future__ import annotations

# ISO 3166-1 alpha-2 code -> share of listeners.
COUNTRIES: dict[str, float] = {
    "US": 22.0, "BR": 9.0, "GB": 6.5, "DE": 6.0, "MX": 5.5, "FR": 4.5, "IN": 4.5,
    "ES": 3.5, "IT": 3.0, "CA": 3.0, "ID": 3.0, "PH": 2.5, "AU": 2.2, "NL": 2.0,
    "SE": 2.0, "PL": 2.0, "AR": 2.0, "JP": 1.8, "TR": 1.6, "CO": 1.5, "CL": 1.2,
    "NG": 1.0, "ZA": 1.0, "KR": 1.0, "NO": 0.8, "DK": 0.7, "FI": 0.6, "IE": 0.6,
    "PT": 0.6, "AT": 0.6, "CH": 0.6, "BE": 0.6, "NZ": 0.4, "EG": 0.4, "KE": 0.3,
}

# Country -> the language most of its listeners set in the app (ISO 639-1).
LANGUAGES: dict[str, str] = {
    "US": "en", "BR": "pt", "GB": "en", "DE": "de", "MX": "es", "FR": "fr", "IN": "hi",
    "ES": "es", "IT": "it", "CA": "en", "ID": "id", "PH": "en", "AU": "en", "NL": "nl",
    "SE": "sv", "PL": "pl", "AR": "es", "JP": "ja", "TR": "tr", "CO": "es", "CL": "es",
    "NG": "en", "ZA": "en", "KR": "ko", "NO": "no", "DK": "da", "FI": "fi", "IE": "en",
    "PT": "pt", "AT": "de", "CH": "de", "BE": "fr", "NZ": "en", "EG": "ar", "KE": "en",
}

GENRES: dict[str, float] = {
    "pop": 24.0, "hip-hop": 18.0, "rock": 12.0, "electronic": 9.0, "latin": 8.0,
    "r&b": 6.0, "indie": 5.0, "country": 4.0, "k-pop": 3.0, "metal": 2.5, "jazz": 2.0,
    "classical": 2.0, "reggaeton": 2.0, "folk": 1.5, "afrobeats": 1.5, "soul": 1.0,
    "blues": 0.5, "ambient": 0.5,
}

DEVICES: dict[str, float] = {
    "mobile": 58.0, "desktop": 14.0, "web": 9.0, "smart_speaker": 8.0, "tv": 4.0,
    "car": 4.0, "tablet": 3.0,
}

# Plan -> (share of subscriptions, monthly price in EUR).
PLANS: dict[str, tuple[float, float]] = {
    "free": (38.0, 0.0),
    "premium": (40.0, 11.99),
    "family": (13.0, 19.99),
    "student": (9.0, 5.99),
}

PODCAST_CATEGORIES: dict[str, float] = {
    "comedy": 14.0, "society & culture": 12.0, "news": 11.0, "true crime": 10.0,
    "music": 9.0, "business": 8.0, "sports": 8.0, "health & fitness": 7.0,
    "education": 7.0, "technology": 6.0, "history": 5.0, "science": 3.0,
}

FIRST_NAMES = (
    "Ana", "Ben", "Chloé", "David", "Emma", "Felipe", "Grace", "Hiro", "Ines", "Jonas",
    "Kemi", "Liam", "Maya", "Noah", "Olga", "Pablo", "Qin", "Rosa", "Sven", "Tara",
    "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe", "Aiko", "Bruno", "Carmen", "Dario",
    "Elif", "Farah", "Gabriel", "Hanna", "Ivan", "Julia", "Kofi", "Lena", "Mateo", "Nina",
    "Oscar", "Priya", "Rafael", "Sofia", "Tomás", "Uma", "Viktor", "Amara", "Lucas", "Mia",
)

LAST_NAMES = (
    "Silva", "Smith", "Müller", "García", "Kowalski", "Nguyen", "Rossi", "Johansson",
    "Okafor", "Tanaka", "Dubois", "Martínez", "Kim", "Patel", "Jensen", "Novak", "Costa",
    "Brown", "Schmidt", "López", "Yilmaz", "Andersen", "Moreau", "Sato", "Fischer",
    "Hernández", "Wilson", "Gómez", "Larsen", "Haddad", "Mensah", "Ivanova", "Rahman",
    "O'Brien", "Virtanen", "Santos", "Weber", "Fernández", "Chen", "Dlamini",
)

ADJECTIVES = (
    "Midnight", "Golden", "Electric", "Silent", "Broken", "Velvet", "Neon", "Wild",
    "Crimson", "Endless", "Hollow", "Lucky", "Paper", "Restless", "Sweet", "Blue",
    "Northern", "Burning", "Lonely", "Secret", "Summer", "Frozen", "Crystal", "Distant",
    "Faded", "Little", "Brave", "Quiet", "Shining", "Tender",
)

NOUNS = (
    "River", "Heart", "City", "Dream", "Fire", "Light", "Ocean", "Road", "Sky", "Echo",
    "Garden", "Shadow", "Storm", "Mirror", "Highway", "Moon", "Signal", "Wave", "Forest",
    "Letter", "Parade", "Satellite", "Harbor", "Window", "Horizon", "Season", "Machine",
    "Island", "Feather", "Thunder",
)

SHOW_WORDS = (
    "Daily", "Weekly", "Inside", "Deep Dive", "Unfiltered", "After Hours", "Backstage",
    "Morning", "Untold", "Real Talk", "Late Night", "Open Mic", "Off the Record",
    "Sound Check", "Long Story", "Field Notes",
)
