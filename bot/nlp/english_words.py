"""Common English words and chat shorthand, as evidence that a short message is English.

Statistical detectors judge a few words by their letters, so "where is my order" can look German
to them and "ok thx bye" French. A message made mostly of these words is English whatever a
detector says (bot/nlp/language.py), together with spaCy's English stop words. Lower case, no
accents.
"""

from spacy.lang.en.stop_words import STOP_WORDS

_OWN = frozenset("""
a about above after again against all already also am an and any anyone anything are arrive arrived
as asap at back bad be because been before being below between bill both broken but buy by bye
call can cancel cancelled cancle cannot cant charged chat check chek come coming could customer
damaged day days deliver delivered delivery did didnt do does doesnt done dont down each email
even ever every fine for forever from get give go going good got great had has have he hello help
her here hey hi him his hey hi hmm how i id if im in into invoice invoce is isnt it its ive just k
know last let like lol make me money more morning most much my need new next night no nope not now
of off ok okay omg on once one only or order ordered orders ordr oder other our out over paid
parcel package pay payment person phone please pls plz refund refnd refunds received return right
said same says see send sent service ship shipped shipping should since so some someone something
soon speak start status still stop support sure talk team tell than thank thanks thanx that thats
the their them then there they thing this those thx through time to today tomorrow too track
tracking transit u ur us very wait waiting want wanted was wasnt wat wats way we week well were
what whats when where wher which while who why will with without wont would wrong y ya yeah yes yesterday
yet yo you your youre address adress change cost costs hours open opening price receipt wrong item
items received never again why help pls plz thnx tnx ty np brb gm gn idk pic photo
account add app bank branch card cart cash charge cheers checkout code colour color contact courier
data delete details discount email emails enable disable enter error fee gift info late lost mail
mate message messages mobile notification notifications offer offers online option options personal
phone pickup post product products quick size store shop sign subscribe unsubscribe turn mute update
updates voucher warranty week weeks wrap
access copy erase erased erasure export forget gdpr privacy remove request requests stored
""".split())

# spaCy's list spells "n't", "'ll", ...: only plain words are compared.
ENGLISH_WORDS = _OWN | {word for word in STOP_WORDS if word.isalpha()}
