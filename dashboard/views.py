from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from dashboard import charts, selectors
from dashboard.forecast import forecast
from modelzoo.permissions import can_view_models
from quiz.models import Expertise


def dashboard(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not can_view_models(request.user):
        raise PermissionDenied
    uploads, votes = selectors.uploads_per_day(), selectors.votes_per_day()
    history = selectors.model_history()
    expertise = selectors.votes_by_expertise()
    agreement = selectors.agreement_histogram()
    prediction = forecast([(v["n_votes"], v["val_accuracy"]) for v in history])
    context = {
        "uploads": uploads,
        "votes": votes,
        "history": history,
        "balance": selectors.label_balance(),
        "agreement": agreement,
        "expertise": [{**row, "name": Expertise.name_of(row["expertise"])} for row in expertise],
        "forecast": prediction,
        "forecast_rows": [
            (f"{target:.1%}", *(round(x) for x in values)) for target, values in prediction.votes_needed.items()
        ],
        "uploads_chart": charts.line_chart(
            [(d.toordinal(), total, f"{d}: {total} uploads") for d, _, total in uploads],
            x_label="day (UTC)",
            y_label="uploads (cumulative count)",
            title="Cumulative uploads per day",
            x_format="day",
            y_format="count",
        ),
        "votes_chart": charts.line_chart(
            [(d.toordinal(), total, f"{d}: {total} votes") for d, _, total in votes],
            x_label="day (UTC)",
            y_label="votes (cumulative count)",
            title="Cumulative votes per day",
            x_format="day",
            y_format="count",
        ),
        "accuracy_time_chart": charts.line_chart(
            [
                (v["created_at"].timestamp(), v["val_accuracy"], f"v{v['version']}: {v['val_accuracy']:.1%}")
                for v in history
            ],
            x_label="date trained (UTC)",
            y_label="validation accuracy (%)",
            title="Validation accuracy per model version over time",
            x_format="time",
            y_format="percent",
            y_from_zero=False,
        ),
        "accuracy_votes_chart": charts.line_chart(
            [
                (v["n_votes"], v["val_accuracy"], f"v{v['version']}: {v['val_accuracy']:.1%} at {v['n_votes']} votes")
                for v in history
            ],
            x_label="votes at training (cumulative count)",
            y_label="validation accuracy (%)",
            title="Validation accuracy against votes",
            x_format="count",
            y_format="percent",
            y_from_zero=False,
        ),
        "agreement_chart": charts.bar_chart(
            agreement,
            title="Agreement distribution",
            x_label="share of votes for the majority label (%)",
            y_label="images (count)",
            y_format="count",
        ),
        "expertise_chart": charts.bar_chart(
            [(Expertise.name_of(r["expertise"]), r["n"]) for r in expertise],
            title="Votes by expertise",
            x_label="self-reported expertise",
            y_label="votes (count)",
            y_format="count",
        ),
    }
    return render(request, "dashboard/dashboard.html", context)
