"""The one message a customer gets in a language the bot does not speak: a person is coming.

Fifteen languages, chosen for where WhatsApp is used most (India, Brazil, Indonesia, the US and
Latin America, Russia, Germany, Turkey, Italy, Pakistan, Egypt and the Gulf, France, Bangladesh,
Malaysia, East Africa, Iran): Spanish, Portuguese, Hindi, Indonesian, Arabic, Russian, German,
French, Italian, Turkish, Urdu, Bengali, Malay, Swahili and Persian. The text promises nothing about
when: it is true whether an agent takes the chat at once, it waits in the queue, or the team is
out of office.
"""

from typing import Dict, Tuple

# code -> (English name of the language, the message in it)
REPLIES: Dict[str, Tuple[str, str]] = {
    "es": ("Spanish", "¡Gracias! Le paso con una persona de nuestro equipo, que le responderá aquí."),
    "pt": ("Portuguese", "Obrigado! Vou transferir você para uma pessoa da nossa equipe, que vai responder aqui."),
    "hi": ("Hindi", "धन्यवाद! मैं आपको हमारी टीम के एक व्यक्ति से जोड़ रहा हूँ, जो आपको यहीं जवाब देंगे।"),
    "id": ("Indonesian", "Terima kasih! Saya akan menghubungkan Anda dengan petugas kami, yang akan membalas di sini."),
    "ar": ("Arabic", "شكرًا لك! سأقوم بتحويلك إلى أحد أعضاء فريقنا، وسيرد عليك هنا."),
    "ru": ("Russian", "Спасибо! Я соединяю вас с сотрудником нашей команды, он ответит вам здесь."),
    "de": ("German", "Danke! Ich verbinde Sie mit einer Person aus unserem Team, die Ihnen hier antwortet."),
    "fr": ("French", "Merci ! Je vous mets en relation avec une personne de notre équipe, qui vous répondra ici."),
    "it": ("Italian", "Grazie! La metto in contatto con una persona del nostro team, che le risponderà qui."),
    "tr": ("Turkish", "Teşekkürler! Sizi ekibimizden bir kişiye bağlıyorum, size buradan yanıt verecek."),
    "ur": ("Urdu", "شکریہ! میں آپ کو ہماری ٹیم کے ایک فرد سے ملا رہا ہوں، جو آپ کو یہیں جواب دیں گے۔"),
    "bn": ("Bengali", "ধন্যবাদ! আমি আপনাকে আমাদের দলের একজন সদস্যের সাথে যুক্ত করছি, তিনি এখানেই আপনাকে উত্তর দেবেন।"),
    "ms": ("Malay", "Terima kasih! Saya akan menghubungkan anda dengan kakitangan kami, yang akan membalas di sini."),
    "sw": ("Swahili", "Asante! Ninakuunganisha na mtu kutoka timu yetu, atakujibu hapa."),
    "fa": ("Persian", "متشکریم! شما را به یکی از همکاران ما وصل می‌کنم که همین‌جا به شما پاسخ می‌دهد."),
}

# For a detected language without a reply of its own (Dutch, Polish, ...): the customer may read
# some English, and the agent sees the language.
ENGLISH_REPLY = "Thanks! I'm connecting you with a person from our team, who will answer you here."


def reply_for(code: str) -> str:
    return REPLIES[code][1] if code in REPLIES else ENGLISH_REPLY
