from rest_framework import serializers

from quiz.models import Expertise, ReportReason


class RoundSubmitInput(serializers.Serializer):
    round = serializers.CharField(max_length=4096)
    corrosion = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=50, allow_empty=True)


class ExpertiseInput(serializers.Serializer):
    expertise = serializers.ChoiceField(choices=Expertise.choices)


class ReportInput(serializers.Serializer):
    reason = serializers.ChoiceField(choices=ReportReason.choices)
