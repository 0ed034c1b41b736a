//! The bot's `/sla` answers, one block per language (admins only).

use super::Language;

pub struct SlaTexts {
    pub usage: &'static str,
    pub none: &'static str,
    pub head: &'static str,
    pub ok: &'static str,
    pub above: &'static str,
    pub below: &'static str,
    pub no_data: &'static str,
    pub unreadable: &'static str,
    pub added: &'static str,
    pub updated: &'static str,
    pub unchanged: &'static str,
    pub removed: &'static str,
    pub not_found: &'static str,
    pub violations: &'static str,
    pub forecast: &'static str,
}

pub static EN: SlaTexts = SlaTexts {
    usage: "Usage:\n/sla list\n/sla add <metric> <job> <max> [min] [objective <percent> [window <duration>]]\n/sla remove <metric> <job>\n/sla status <metric> <job>\n/sla violations <metric> <job>\n/sla forecast <metric> <job> <minutes>\n/sla budget <metric> <job>\n/sla chart <metric> <job> [hours]",
    none: "No SLAs yet. Add one with /sla add <metric> <job> <max> [min].",
    head: "SLAs:",
    ok: "✅ {} ({}): {} within {}",
    above: "⚠️ {} ({}): {} above the maximum of {}",
    below: "⚠️ {} ({}): {} below the minimum of {}",
    no_data: "❔ {} ({}): no data yet",
    unreadable: "❔ {} ({}): cannot read the value ({})",
    added: "✅ SLA added: {} ({}) within {}.",
    updated: "✅ SLA updated: {} ({}) within {}.",
    unchanged: "This SLA already exists, identical: {} ({}) within {}.",
    removed: "🗑 SLA removed: {} ({}).",
    not_found: "There is no SLA for {} ({}).",
    violations: "{} ({}), range {}: violations in the last hour: {} · 3 hours: {} · 6 hours: {}",
    forecast: "{} ({}), range {}: probability of a violation within {} minutes: {} (from {} samples, model {})",
};

pub static IT: SlaTexts = SlaTexts {
    usage: "Uso:\n/sla list\n/sla add <metrica> <job> <max> [min] [objective <percentuale> [window <durata>]]\n/sla remove <metrica> <job>\n/sla status <metrica> <job>\n/sla violations <metrica> <job>\n/sla forecast <metrica> <job> <minuti>\n/sla budget <metrica> <job>\n/sla chart <metrica> <job> [ore]",
    none: "Nessuno SLA. Aggiungine uno con /sla add <metrica> <job> <max> [min].",
    head: "SLA:",
    ok: "✅ {} ({}): {} entro {}",
    above: "⚠️ {} ({}): {} sopra il massimo di {}",
    below: "⚠️ {} ({}): {} sotto il minimo di {}",
    no_data: "❔ {} ({}): ancora nessun dato",
    unreadable: "❔ {} ({}): valore non leggibile ({})",
    added: "✅ SLA aggiunto: {} ({}) entro {}.",
    updated: "✅ SLA aggiornato: {} ({}) entro {}.",
    unchanged: "Questo SLA esiste già, identico: {} ({}) entro {}.",
    removed: "🗑 SLA eliminato: {} ({}).",
    not_found: "Non c'è uno SLA per {} ({}).",
    violations: "{} ({}), intervallo {}: violazioni nell'ultima ora: {} · 3 ore: {} · 6 ore: {}",
    forecast: "{} ({}), intervallo {}: probabilità di una violazione entro {} minuti: {} (da {} campioni, modello {})",
};

pub fn sla_texts(lang: Language) -> &'static SlaTexts {
    match lang {
        Language::En => &EN,
        Language::It => &IT,
    }
}
