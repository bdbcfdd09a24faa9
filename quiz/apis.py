"""JSON API of the quiz, usable by any HTTP client that keeps cookies.

No CSRF token is needed: a submission is accepted only with the round token
served to the same voter cookie, which a cross-site page cannot read.
"""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from corrosiondetector.openapi import RETRY_AFTER, error_responses
from quiz.errors import ImageNotInQuiz
from quiz.identity import ip_hash, voter_key
from quiz.models import QUESTIONS, Expertise, Label, ReportReason, Wording
from quiz.rounds import round_token_make
from quiz.selectors import gold_feedback, round_images_select, voter_get
from quiz.serializers import ExpertiseInput, ReportInput, RoundSubmitInput
from quiz.services.reports import image_report
from quiz.services.votes import vote_cast, voter_set_expertise
from quiz.throttles import QuizThrottle, ReportThrottle


class JsonFirstNegotiation(DefaultContentNegotiation):
    """DRF's content negotiation with a shortcut for what nearly every client of the quiz sends.

    With JSON the only renderer, an Accept of JSON or of anything (or none) can only mean JSON; the full
    negotiation, which parses the header on every request, comes to the same answer (a test holds the
    two to it). Any other header, a format override or another renderer takes the full path.
    """

    _ANY_OR_JSON = frozenset({"*/*", "application/json"})

    def select_renderer(self, request, renderers, format_suffix=None):
        if (
            len(renderers) == 1
            and renderers[0].media_type == "application/json"
            and format_suffix is None
            and request.headers.get("accept", "*/*") in self._ANY_OR_JSON
            and (self.settings.URL_FORMAT_OVERRIDE or "") not in request.query_params
        ):
            return renderers[0], "application/json"
        return super().select_renderer(request, renderers, format_suffix)


class PublicApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [QuizThrottle]
    content_negotiation_class = JsonFirstNegotiation


class RoundImageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField(help_text="the full photo")
    thumbnail_url = serializers.URLField(
        help_text="what to show: the ≤ 640 px thumbnail (the full photo for an image that has none yet)"
    )
    thumbnail_width = serializers.IntegerField(help_text="pixels of the image at thumbnail_url")
    thumbnail_height = serializers.IntegerField()


class RoundOutput(serializers.Serializer):
    round = serializers.CharField(help_text="signed round token: send it back with the answers")
    question = serializers.CharField()
    wording = serializers.ChoiceField(
        choices=Wording.choices, help_text="which question this is (QUIZ_WORDING); the round's votes record it"
    )
    images = RoundImageOutput(many=True)


class GoldFeedbackOutput(serializers.Serializer):
    image_id = serializers.IntegerField()
    expert_label = serializers.ChoiceField(choices=Label.choices, help_text="what the experts said")
    your_answer = serializers.ChoiceField(choices=Label.choices)
    agreed = serializers.BooleanField()
    note = serializers.CharField(help_text="why, in the experts' words; may be empty")


class RoundRecordedOutput(serializers.Serializer):
    recorded = serializers.IntegerField(help_text="votes recorded: one per image of the round")
    votes_cast = serializers.IntegerField(help_text="the voter's votes so far")
    feedback = GoldFeedbackOutput(
        many=True, help_text="the round's gold questions (photos with an expert label): what the experts said"
    )


class VoterOutput(serializers.Serializer):
    expertise = serializers.ChoiceField(choices=Expertise.choices, help_text='"" until the voter says')
    votes_cast = serializers.IntegerField()


class RoundApi(PublicApi):
    @extend_schema(
        summary="Serve a quiz round",
        parameters=[RETRY_AFTER],
        responses={200: RoundOutput, **error_responses(429)},
    )
    def get(self, request):
        key = voter_key(request)
        images = round_images_select(voter_key=key)
        wording = settings.QUIZ_WORDING
        return Response(
            {
                "round": round_token_make(voter_key=key, image_ids=[image.id for image in images], wording=wording),
                "question": QUESTIONS[wording],
                "wording": wording,
                "images": [_round_image(request, image) for image in images],
            }
        )

    @extend_schema(
        summary="Answer a quiz round",
        request=RoundSubmitInput,
        parameters=[RETRY_AFTER],
        responses={
            201: RoundRecordedOutput,
            **error_responses(
                400,
                403,
                409,
                415,
                429,
                e400="Malformed JSON, a forged or expired round token, or ids not in the round.",
                e403="The round was served to another voter.",
                e409="This round was already answered.",
            ),
        },
    )
    def post(self, request):
        payload = RoundSubmitInput(data=request.data)
        payload.is_valid(raise_exception=True)
        key = voter_key(request)
        result = vote_cast(
            voter_key=key,
            round_token=payload.validated_data["round"],
            corrosion_ids=payload.validated_data["corrosion"],
            ip_hash=ip_hash(request),
        )
        # One more query, only for the rounds that held a gold question.
        gold = gold_feedback(voter_key=key, image_ids=result.gold_image_ids) if result.gold_image_ids else []
        return Response(
            {
                "recorded": len(result.votes),
                "votes_cast": result.votes_cast,
                "feedback": [_feedback(item) for item in gold],
            },
            status=status.HTTP_201_CREATED,
        )


def _feedback(item) -> dict:
    def label(corrosion: bool) -> str:
        return Label.CORROSION if corrosion else Label.NO_CORROSION

    return {
        "image_id": item.image.id,
        "expert_label": label(item.expert_corrosion),
        "your_answer": label(item.your_corrosion),
        "agreed": item.agreed,
        "note": item.note,
    }


def _round_image(request, image) -> dict:
    return {
        "id": image.id,
        "url": request.build_absolute_uri(image.file.url),
        "thumbnail_url": request.build_absolute_uri(image.display_url),
        "thumbnail_width": image.display_width,
        "thumbnail_height": image.display_height,
    }


class VoterApi(PublicApi):
    @extend_schema(
        summary="The voter's profile", parameters=[RETRY_AFTER], responses={200: VoterOutput, **error_responses(429)}
    )
    def get(self, request):
        voter = voter_get(key=voter_key(request))
        return Response({"expertise": voter.expertise if voter else "", "votes_cast": voter.votes_cast if voter else 0})

    @extend_schema(
        summary="Say how much you know about corrosion",
        request=ExpertiseInput,
        parameters=[RETRY_AFTER],
        responses={200: VoterOutput, **error_responses(400, 415, 429)},
    )
    def put(self, request):
        payload = ExpertiseInput(data=request.data)
        payload.is_valid(raise_exception=True)
        voter = voter_set_expertise(
            voter_key=voter_key(request), expertise=payload.validated_data["expertise"], ip_hash=ip_hash(request)
        )
        return Response({"expertise": voter.expertise, "votes_cast": voter.votes_cast})


class ReportOutput(serializers.Serializer):
    image_id = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=ReportReason.choices)
    created_at = serializers.DateTimeField()


class ReportApi(PublicApi):
    # Limits of their own (QUIZ_REPORT_RATE_PER_VOTER, ten times that per address), apart from the quiz's.
    throttle_classes = [ReportThrottle]

    @extend_schema(
        summary="Report a quiz photo",
        description="Inappropriate, showing personal information, or not relevant: once per voter and photo. "
        "Enough reports from distinct voters (QUIZ_REPORTS_TO_HIDE) take the photo out of the quiz until "
        "staff decide.",
        request=ReportInput,
        parameters=[OpenApiParameter("image_id", int, OpenApiParameter.PATH, description="the photo id"), RETRY_AFTER],
        responses={
            201: ReportOutput,
            **error_responses(
                400,
                404,
                409,
                415,
                429,
                e400="Malformed JSON or an unknown reason.",
                e404="No such photo in the quiz (never was, or taken out of it).",
                e409="This voter has already reported this photo (code already_reported).",
            ),
        },
    )
    def post(self, request, image_id: str):
        # Any path segment reaches this view, so that a malformed id gets the API's JSON 404 (not Django's page).
        if not (image_id.isascii() and image_id.isdigit()):
            raise ImageNotInQuiz("There is no such photo in the quiz.")
        payload = ReportInput(data=request.data)
        payload.is_valid(raise_exception=True)
        report = image_report(
            image_id=int(image_id),
            voter_key=voter_key(request),
            reason=payload.validated_data["reason"],
            ip_hash=ip_hash(request),
        )
        return Response(
            {"image_id": report.image_id, "reason": report.reason, "created_at": report.created_at},
            status=status.HTTP_201_CREATED,
        )
